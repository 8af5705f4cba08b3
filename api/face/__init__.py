"""Face enrolment and verification: uploads, jobs, enrolments and verification results."""
