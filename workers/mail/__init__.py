"""The `mail` consumer group: confirmation and password reset mails for account events."""
