"""The mail group: links with tokens the API accepts, sent once, skipped when pointless."""

import re
from collections.abc import Callable
from email.message import EmailMessage, Message
from typing import Any
from uuid import uuid4

import pytest
from faststream.redis import TestRedisBroker
from redis.asyncio import Redis
from sqlalchemy import select

from api.accounts.tokens import decode_token, password_stamp
from api.core.settings import get_settings
from api.events.models import ProcessedEvent
from contracts.events import ConfirmationRequested, ResetRequested, UserRegistered
from contracts.streams import ACCOUNTS_STREAM, MAIL_GROUP
from tests.factories import create_user
from tests.workers.conftest import MAX_DELIVERIES, MailSink, dead_letters, eventually, free_port
from workers.mail.consumer import mail_consumer
from workers.mail.delivery import SmtpMailer
from workers.runtime import build_app

LINK = re.compile(r"http://app\.test/(confirm-email|reset-password)/([A-Za-z0-9._-]+)")


class MemoryMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.fixture(autouse=True)
def frontend(configure: Callable[..., None]) -> None:
    configure(FRONTEND_URL="http://app.test/")


async def all_acked(redis: Redis, entry_id: str) -> bool:
    """The group has read up to `entry_id` and nothing it read is pending."""
    (group,) = [g for g in await redis.xinfo_groups(ACCOUNTS_STREAM) if g["name"] == MAIL_GROUP]
    read_up_to = tuple(map(int, group["last-delivered-id"].split("-")))
    return read_up_to >= tuple(map(int, entry_id.split("-"))) and group["pending"] == 0


def text_and_html(message: Message) -> tuple[str, str]:
    parts = {part.get_content_type(): part for part in message.walk()}
    plain = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    return plain, html


def link_of(body: str) -> tuple[str, str]:
    found = LINK.search(body)
    assert found, f"no link in {body!r}"
    return found.group(1), found.group(2)


async def test_confirmation_mail_carries_a_token_the_api_accepts_and_is_sent_once(
    redis: Redis, smtp_server: MailSink, start_worker, sessions
) -> None:
    user = await create_user(confirmed=False)
    event = UserRegistered(user_id=user.id, email=user.email)
    consumer = mail_consumer(get_settings(), sessions, SmtpMailer(get_settings()))

    async with start_worker(consumer, get_settings()):
        await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
        last = await redis.xadd(ACCOUNTS_STREAM, event.to_stream())  # delivered again
        await eventually(lambda: all_acked(redis, last))

    (mail,) = smtp_server.messages
    assert mail["To"] == user.email
    plain, html = text_and_html(mail)
    route, token = link_of(plain)
    assert route == "confirm-email"
    assert f'href="http://app.test/confirm-email/{token}"' in html
    claims = decode_token(token, "confirm")
    assert claims["sub"] == user.id
    assert claims["email"] == user.email


async def test_reset_mail_carries_a_reset_token_bound_to_the_password(
    redis: Redis, smtp_server: MailSink, start_worker, sessions
) -> None:
    user = await create_user()
    event = ResetRequested(user_id=user.id, email=user.email)
    consumer = mail_consumer(get_settings(), sessions, SmtpMailer(get_settings()))

    async with start_worker(consumer, get_settings()):
        entry_id = await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
        await eventually(lambda: all_acked(redis, entry_id))

    (mail,) = smtp_server.messages
    route, token = link_of(text_and_html(mail)[0])
    assert route == "reset-password"
    claims = decode_token(token, "reset")
    assert claims["sub"] == user.id
    assert claims["pwd"] == password_stamp(user.password_changed_at)


async def test_no_mail_for_a_confirmed_or_deleted_user(
    redis: Redis, smtp_server: MailSink, start_worker, sessions
) -> None:
    confirmed = await create_user(confirmed=True)
    consumer = mail_consumer(get_settings(), sessions, SmtpMailer(get_settings()))

    async with start_worker(consumer, get_settings()):
        await redis.xadd(
            ACCOUNTS_STREAM,
            ConfirmationRequested(user_id=confirmed.id, email=confirmed.email).to_stream(),
        )
        last = await redis.xadd(
            ACCOUNTS_STREAM, ResetRequested(user_id=uuid4(), email="gone@example.com").to_stream()
        )
        await eventually(lambda: all_acked(redis, last))

    assert smtp_server.messages == []
    assert await dead_letters(redis) == []


async def test_smtp_off_sends_nothing_and_acks(
    redis: Redis, smtp_server: MailSink, start_worker, sessions, configure: Callable[..., None]
) -> None:
    configure(SMTP="0")  # the sink still listens: nothing may reach it
    user = await create_user(confirmed=False)
    consumer = mail_consumer(get_settings(), sessions, SmtpMailer(get_settings()))

    async with start_worker(consumer, get_settings()):
        entry_id = await redis.xadd(
            ACCOUNTS_STREAM, UserRegistered(user_id=user.id, email=user.email).to_stream()
        )
        await eventually(lambda: all_acked(redis, entry_id))

    assert smtp_server.messages == []


async def test_unreachable_smtp_server_is_retried_then_dead_lettered(
    redis: Redis, start_worker, sessions, configure: Callable[..., None]
) -> None:
    configure(SMTP="1", SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()))
    user = await create_user(confirmed=False)
    event = UserRegistered(user_id=user.id, email=user.email)
    mailer = SmtpMailer(get_settings(), timeout_s=2)
    consumer = mail_consumer(get_settings(), sessions, mailer)

    async with start_worker(consumer, get_settings()):
        entry_id = await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
        (record,) = await eventually(lambda: dead_letters(redis), timeout_s=15)

    assert record["entry_id"] == entry_id
    assert record["deliveries"] == str(MAX_DELIVERIES + 1)
    async with sessions() as session:
        processed = await session.scalar(
            select(ProcessedEvent).where(ProcessedEvent.event_id == event.id)
        )
    assert processed is None  # not recorded as sent: replaying it would send it


async def test_in_memory_mail_is_sent_once_per_event(sessions, configure) -> None:
    configure(SMTP="1")
    user = await create_user(confirmed=False)
    event = ConfirmationRequested(user_id=user.id, email=user.email)
    mailer = MemoryMailer()
    app = build_app(mail_consumer(get_settings(), sessions, mailer), get_settings(), None)

    async with TestRedisBroker(app.broker) as broker:
        await broker.publish(event.to_stream(), stream=ACCOUNTS_STREAM)
        await broker.publish(event.to_stream(), stream=ACCOUNTS_STREAM)

    (mail,) = mailer.sent
    assert mail["To"] == user.email
    route, token = link_of(mail.get_body(("plain",)).get_content())
    assert route == "confirm-email"
    assert decode_token(token, "confirm")["sub"] == user.id


async def test_in_memory_smtp_off_sends_nothing(sessions) -> None:
    user = await create_user(confirmed=False)
    mailer = MemoryMailer()
    app = build_app(mail_consumer(get_settings(), sessions, mailer), get_settings(), None)

    async with TestRedisBroker(app.broker) as broker:
        await broker.publish(
            UserRegistered(user_id=user.id, email=user.email).to_stream(), stream=ACCOUNTS_STREAM
        )

    assert get_settings().smtp == 0
    assert mailer.sent == []


@pytest.mark.parametrize(
    ("port", "use_tls", "start_tls"),
    [(465, True, False), (587, False, True), (2525, False, False)],
)
async def test_tls_mode_follows_the_port_and_login_needs_both_credentials(
    monkeypatch: pytest.MonkeyPatch,
    configure: Callable[..., None],
    port: int,
    use_tls: bool,
    start_tls: bool,
) -> None:
    calls: list[dict[str, Any]] = []

    async def fake_send(message: EmailMessage, **options: Any) -> None:
        calls.append(options)

    monkeypatch.setattr("workers.mail.delivery.aiosmtplib.send", fake_send)
    configure(SMTP_PORT=str(port), SMTP_EMAIL="bot@example.com", SMTP_PASS="app-password")
    await SmtpMailer(get_settings()).send(EmailMessage())
    configure(SMTP_PASS="")
    await SmtpMailer(get_settings()).send(EmailMessage())

    with_login, without_login = calls
    assert with_login["use_tls"] is use_tls
    assert with_login["start_tls"] is start_tls
    assert with_login["timeout"] > 0
    assert (with_login["username"], with_login["password"]) == ("bot@example.com", "app-password")
    assert (without_login["username"], without_login["password"]) == (None, None)
