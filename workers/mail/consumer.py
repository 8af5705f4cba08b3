"""What the mail group does with each account event.

Tokens are minted here, at sending time, so that events never carry secrets. The mail is
recorded as sent (ProcessedEvent) in the transaction that commits after the SMTP server took
it: a failed send rolls back and is retried; a repeated event is not sent twice.
"""

from email.message import EmailMessage

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.accounts.models import User
from api.accounts.tokens import mint_confirm_token, mint_reset_token
from api.core.settings import Settings
from contracts.events import ConfirmationRequested, Event, ResetRequested, UserRegistered
from contracts.streams import ACCOUNTS_STREAM, MAIL_GROUP
from workers.mail.delivery import Mailer
from workers.mail.messages import (
    confirmation_link,
    confirmation_mail,
    reset_link,
    reset_mail,
)
from workers.runtime import GroupConsumer, record_processed

log = structlog.get_logger(__name__)

AccountEvent = UserRegistered | ConfirmationRequested | ResetRequested


class AccountMails:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        mailer: Mailer,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.mailer = mailer

    async def __call__(self, event: Event) -> str:
        assert isinstance(event, AccountEvent)  # the runtime lets only these through
        kind = "reset" if isinstance(event, ResetRequested) else "confirmation"
        if not self.settings.mail_enabled:
            log.info("mail.delivery.skipped", kind=kind, reason="smtp_disabled")
            return "skipped"

        async with self.sessions() as session:
            if not await record_processed(session, MAIL_GROUP, event.id):
                log.info("mail.delivery.skipped", kind=kind, reason="already_sent")
                return "duplicate"

            user = await session.get(User, event.user_id)
            skip_reason = _skip_reason(user, kind)
            if user is None or skip_reason is not None:
                await session.commit()
                log.info("mail.delivery.skipped", kind=kind, reason=skip_reason)
                return "skipped"

            await self.mailer.send(self._compose(user, kind))
            await session.commit()

        log.info("mail.delivery.sent", kind=kind, user_id=str(user.id))
        return "sent"

    def _compose(self, user: User, kind: str) -> EmailMessage:
        settings = self.settings
        if kind == "reset":
            token = mint_reset_token(user.id, user.password_changed_at)
            link = reset_link(settings.frontend_url, token)
            return reset_mail(settings.mail_sender, user.email, link, settings.reset_token_minutes)

        token = mint_confirm_token(user.id, user.email)
        link = confirmation_link(settings.frontend_url, token)
        return confirmation_mail(
            settings.mail_sender, user.email, link, settings.confirm_token_hours
        )


def _skip_reason(user: User | None, kind: str) -> str | None:
    if user is None:
        return "user_missing"
    if kind == "confirmation" and user.email_confirmed:
        return "already_confirmed"
    return None


def mail_consumer(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    mailer: Mailer,
) -> GroupConsumer:
    return GroupConsumer(
        stream=ACCOUNTS_STREAM,
        group=MAIL_GROUP,
        events=(UserRegistered, ConfirmationRequested, ResetRequested),
        handle=AccountMails(settings, sessions, mailer),
    )
