"""The `verification` consumer group: compares a fresh embedding with the user's enrolment."""
