"""Hand mails to an SMTP server with aiosmtplib.

Port 465 speaks TLS from the first byte (implicit TLS); port 587 upgrades with STARTTLS, which
is then required; any other port is plain SMTP, for a local relay or a development sink.
"""

from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from api.core.settings import Settings

IMPLICIT_TLS_PORT = 465
SUBMISSION_PORT = 587
SMTP_TIMEOUT_S = 20.0


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """Sends one mail per connection: mails are rare, and a fresh connection never goes stale."""

    def __init__(self, settings: Settings, timeout_s: float = SMTP_TIMEOUT_S) -> None:
        self.hostname = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_email or None
        self.password = settings.smtp_pass or None
        self.timeout_s = timeout_s

    @property
    def tls_mode(self) -> str:
        if self.port == IMPLICIT_TLS_PORT:
            return "implicit_tls"
        if self.port == SUBMISSION_PORT:
            return "starttls"
        return "plain"

    async def send(self, message: EmailMessage) -> None:
        """Return once the server accepted the mail; raise `aiosmtplib.SMTPException` if not."""
        logs_in = self.username is not None and self.password is not None
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            username=self.username if logs_in else None,
            password=self.password if logs_in else None,
            use_tls=self.tls_mode == "implicit_tls",
            start_tls=self.tls_mode == "starttls",
            timeout=self.timeout_s,
        )
