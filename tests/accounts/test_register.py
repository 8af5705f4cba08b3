import asyncio
import json
import time

from sqlalchemy import func, select

from api.accounts.models import User
from api.core.database import get_sessionmaker
from api.core.redis import get_redis
from api.events.models import OutboxEvent
from contracts.streams import ACCOUNTS_STREAM
from tests.factories import DEFAULT_PASSWORD, create_user, load_user, unique_email


async def count_users(email: str) -> int:
    async with get_sessionmaker()() as session:
        statement = select(func.count()).where(func.lower(User.email) == email.lower())
        return await session.scalar(statement) or 0


async def stream_events(name: str) -> list[dict]:
    entries = await get_redis().xrange(ACCOUNTS_STREAM)
    return [json.loads(fields["body"]) for _, fields in entries if fields["name"] == name]


async def test_register_with_mail_off_creates_a_confirmed_account(client):
    email = unique_email()

    response = await client.post(
        "/auth/register", json={"email": email, "password": "s3cret-pass"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == email and body["confirmed"] is True
    user = await load_user(body["id"])
    assert user is not None and user.email_confirmed
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in user.password_hash


async def test_register_with_mail_on_leaves_the_account_unconfirmed(client, mail_on):
    response = await client.post(
        "/auth/register", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 201
    assert response.json()["confirmed"] is False
    assert "confirm" in response.json()["detail"]


async def test_register_publishes_user_registered_after_commit(client, monkeypatch):
    import api.accounts.routes as routes

    seen_at_publish: dict[str, object] = {}
    real_publish = routes.publish_committed

    async def spying_publish(redis, sessions, events):
        # At publish time the account must already be committed (visible elsewhere)
        # and the event not yet in the stream.
        seen_at_publish["committed_users"] = await count_users(email)
        seen_at_publish["stream_before"] = len(await stream_events("user.registered"))
        await real_publish(redis, sessions, events)

    monkeypatch.setattr(routes, "publish_committed", spying_publish)
    email = unique_email()

    response = await client.post(
        "/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 201
    assert seen_at_publish == {"committed_users": 1, "stream_before": 0}
    published = await stream_events("user.registered")
    assert [(e["user_id"], e["email"]) for e in published] == [(response.json()["id"], email)]
    assert "token" not in json.dumps(published)
    async with get_sessionmaker()() as session:
        outbox = (await session.scalars(select(OutboxEvent))).all()
    assert [row.name for row in outbox] == ["user.registered"]
    assert outbox[0].published_at is not None


async def test_failed_registration_publishes_nothing(client):
    user = await create_user()

    response = await client.post(
        "/auth/register", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 409
    assert await stream_events("user.registered") == []
    async with get_sessionmaker()() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


async def test_duplicate_email_is_409_email_taken(client):
    user = await create_user()

    response = await client.post(
        "/auth/register", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 409
    assert response.json()["error"] == "email_taken"
    assert "log in" in response.json()["detail"]


async def test_case_variants_of_an_email_are_one_account(client):
    email = unique_email("MixedCase")

    first = await client.post(
        "/auth/register", json={"email": email.upper(), "password": DEFAULT_PASSWORD}
    )
    second = await client.post(
        "/auth/register", json={"email": email.lower(), "password": DEFAULT_PASSWORD}
    )
    login = await client.post(
        "/auth/login", json={"email": email.swapcase(), "password": DEFAULT_PASSWORD}
    )

    assert first.status_code == 201 and first.json()["email"] == email.lower()
    assert second.status_code == 409
    assert login.status_code == 200
    assert await count_users(email) == 1


async def test_twenty_concurrent_registrations_of_one_email_make_one_account(client):
    email = unique_email("race")

    responses = await asyncio.gather(
        *(
            client.post("/auth/register", json={"email": email, "password": DEFAULT_PASSWORD})
            for _ in range(20)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    assert await count_users(email) == 1
    assert len(await stream_events("user.registered")) == 1


async def test_invalid_email_is_422(client):
    response = await client.post(
        "/auth/register", json={"email": "not-an-email", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert response.json()["fields"][0]["loc"] == ["body", "email"]


async def test_short_password_is_422(client):
    response = await client.post(
        "/auth/register", json={"email": unique_email(), "password": "short"}
    )

    assert response.status_code == 422
    assert response.json()["fields"][0]["loc"] == ["body", "password"]


async def test_a_megabyte_password_is_a_fast_422_without_hashing(client, monkeypatch):
    import api.accounts.service as service

    async def must_not_hash(password: str) -> str:
        raise AssertionError("an oversized password reached the hasher")

    monkeypatch.setattr(service, "hash_password", must_not_hash)
    huge = "x" * 1_000_000
    started = time.perf_counter()

    register = await client.post(
        "/auth/register", json={"email": unique_email(), "password": huge}
    )
    login = await client.post("/auth/login", json={"email": unique_email(), "password": huge})

    assert register.status_code == 422 and login.status_code == 422
    assert time.perf_counter() - started < 2.0
    async with get_sessionmaker()() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_register_is_rate_limited_per_client(client, configure):
    configure(REGISTER_LIMIT_CLIENT="2/minute")

    statuses = []
    for _ in range(3):
        response = await client.post(
            "/auth/register", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
        )
        statuses.append(response.status_code)

    assert statuses == [201, 201, 429]
    assert response.json()["error"] == "rate_limited"
    assert 0 < int(response.headers["retry-after"]) <= 60


async def test_losing_the_insert_race_is_409_not_500(client, monkeypatch):
    import api.accounts.repository as repository

    user = await create_user()

    async def nobody_yet(session, email):  # as if the other insert had not committed yet
        return None

    monkeypatch.setattr(repository, "user_by_email", nobody_yet)

    response = await client.post(
        "/auth/register", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 409
    assert response.json()["error"] == "email_taken"
    assert await stream_events("user.registered") == []
