"""GET /face/events (Server-Sent Events) and POST /face/events/ticket."""

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from api.accounts.tokens import decode_token
from api.core.database import get_engine
from api.core.redis import get_redis
from api.face.events_stream import EventsTiming, get_events_timing
from api.face.jobs import publish_job_update
from contracts.events import FaceJobUpdated
from contracts.streams import job_updates_stream
from tests.accounts.tokens import claims_for, sign
from tests.face_api.conftest import Submit
from tests.face_api.sse import ServerEvent, open_event_stream
from tests.factories import SignedIn, bearer


def _update(user_id: UUID, status: str = "running", **fields: object) -> FaceJobUpdated:
    return FaceJobUpdated(
        job_id=uuid4(), user_id=user_id, purpose="enroll", status=status, **fields
    )


async def _ticket(client: AsyncClient, signed_in: SignedIn) -> str:
    response = await client.post("/face/events/ticket", headers=signed_in.headers)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 60
    return response.json()["ticket"]


async def test_ticket_works_once(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    ticket = await _ticket(client, signed_in)

    async with open_event_stream(app, "/face/events", params={"ticket": ticket}) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
    async with open_event_stream(app, "/face/events", params={"ticket": ticket}) as reused:
        assert reused.status == 401
        assert json.loads(reused.body)["error"] == "events_ticket_invalid"


async def test_ticket_expires_after_60_seconds(client: AsyncClient, signed_in: SignedIn):
    await _ticket(client, signed_in)

    [key] = await get_redis().keys("face:events_ticket:*")

    assert 0 < await get_redis().ttl(key) <= 60


async def test_bad_ticket_is_401(app: FastAPI, client: AsyncClient, fast_events: EventsTiming):
    async with open_event_stream(app, "/face/events", params={"ticket": "forged"}) as stream:
        assert stream.status == 401
        assert json.loads(stream.body)["error"] == "events_ticket_invalid"


async def test_no_credentials_is_401(app: FastAPI, client: AsyncClient, fast_events):
    async with open_event_stream(app, "/face/events") as stream:
        assert stream.status == 401
        assert json.loads(stream.body)["error"] == "not_authenticated"


async def test_ticket_requires_sign_in(client: AsyncClient):
    response = await client.post("/face/events/ticket")

    assert response.status_code == 401


async def test_heartbeat_arrives(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
        event = await stream.next_event(wait_s=2)

    assert stream.status == 200
    assert event.comment is not None and event.comment.startswith("ping")
    assert event.data is None


async def test_update_arrives_live(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    user_id = signed_in.user.id
    update = _update(user_id, "done", verified=True, distance=0.3, threshold=0.6)

    async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
        entry_id = await publish_job_update(get_redis(), update)
        event = await stream.next_data_event()

    assert event.event == "done"
    assert event.id == entry_id
    assert FaceJobUpdated.model_validate_json(event.data or "") == update


async def test_submitted_job_is_announced_as_accepted(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, submit: Submit,
    fast_events: EventsTiming,
):
    ticket = await _ticket(client, signed_in)

    async with open_event_stream(app, "/face/events", params={"ticket": ticket}) as stream:
        job_id = (await submit("enroll")).json()["job_id"]
        event = await stream.next_data_event()

    assert event.event == "accepted"
    assert json.loads(event.data or "")["job_id"] == job_id


async def test_only_own_updates_arrive(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
        await publish_job_update(get_redis(), _update(uuid4(), "running"))
        own = await publish_job_update(get_redis(), _update(signed_in.user.id, "failed"))
        event = await stream.next_data_event()

    assert event.id == own


async def test_without_last_event_id_only_new_entries(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    redis = get_redis()
    await publish_job_update(redis, _update(signed_in.user.id, "accepted"))

    async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
        new = await publish_job_update(redis, _update(signed_in.user.id, "running"))
        event = await stream.next_data_event()

    assert (event.id, event.event) == (new, "running")


async def test_resume_after_last_event_id(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    redis = get_redis()
    user_id = signed_in.user.id
    seen = await publish_job_update(redis, _update(user_id, "accepted"))
    missed = [
        await publish_job_update(redis, _update(user_id, "running")),
        await publish_job_update(redis, _update(user_id, "done")),
    ]

    headers = {**signed_in.headers, "Last-Event-ID": seen}
    async with open_event_stream(app, "/face/events", headers=headers) as stream:
        replayed = [await stream.next_data_event(), await stream.next_data_event()]
        later = await publish_job_update(redis, _update(user_id, "failed"))
        live = await stream.next_data_event()

    assert [event.id for event in replayed] == missed
    assert [event.event for event in replayed] == ["running", "done"]
    assert live.id == later


@pytest.mark.parametrize(
    "last_event_id",
    ["0; DROP", "99999999999999999999-99999999999999999999", "18446744073709551616-0"],
)
async def test_malformed_last_event_id_is_422(
    app: FastAPI,
    client: AsyncClient,
    signed_in: SignedIn,
    fast_events: EventsTiming,
    last_event_id: str,
):
    headers = {**signed_in.headers, "Last-Event-ID": last_event_id}

    async with open_event_stream(app, "/face/events", headers=headers) as stream:
        assert stream.status == 422
        assert json.loads(stream.body)["error"] == "invalid_last_event_id"


async def test_disconnect_ends_the_stream_while_reading(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn,
):
    # Long heartbeat and XREAD block: only the disconnect can end the stream in time.
    timing = EventsTiming(ping_s=60, block_ms=30_000)
    app.dependency_overrides[get_events_timing] = lambda: timing
    try:
        async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
            assert stream.status == 200
        # open_event_stream's exit fails the test unless the app finished within 5 s
    finally:
        app.dependency_overrides.pop(get_events_timing, None)


async def test_malformed_last_event_id_does_not_spend_the_ticket(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    ticket = await _ticket(client, signed_in)

    async with open_event_stream(
        app, "/face/events", headers={"Last-Event-ID": "bogus"}, params={"ticket": ticket}
    ) as refused:
        assert refused.status == 422
    async with open_event_stream(app, "/face/events", params={"ticket": ticket}) as stream:
        assert stream.status == 200


async def test_open_stream_holds_no_database_connection(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn
):
    # A long XREAD block: the token recheck after each read, a one-query session, cannot
    # overlap the assertion below.
    timing = EventsTiming(ping_s=0.2, block_ms=30_000)
    app.dependency_overrides[get_events_timing] = lambda: timing
    try:
        async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
            await stream.next_event(wait_s=2)  # the stream is running

            assert get_engine().pool.checkedout() == 0
    finally:
        app.dependency_overrides.pop(get_events_timing, None)


async def test_unreadable_entry_is_skipped(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    redis = get_redis()
    stream_name = job_updates_stream(str(signed_in.user.id))

    async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
        await redis.xadd(stream_name, {"name": "face.job_updated", "body": "{not json"})
        valid = await publish_job_update(redis, _update(signed_in.user.id, "running"))
        event = await stream.next_data_event()

    assert event.id == valid


def _session_ended(events: list[ServerEvent]) -> str:
    """The `error` of the stream's last event, which must be `session_ended`."""
    last = [event for event in events if event.data is not None][-1]
    assert last.event == "session_ended"
    return str(json.loads(last.data or "")["error"])


async def test_logout_ends_an_open_stream(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
        await stream.next_event(wait_s=2)  # the stream is running
        logout = await client.post(
            "/auth/logout",
            headers=signed_in.headers,
            json={"refresh_token": signed_in.refresh_token},
        )
        assert logout.status_code == 200
        events = await stream.events_until_end(wait_s=3)

    assert _session_ended(events) == "token_revoked"


async def test_logout_ends_a_stream_opened_with_a_ticket(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    ticket = await _ticket(client, signed_in)
    client.cookies.clear()

    async with open_event_stream(app, "/face/events", params={"ticket": ticket}) as stream:
        assert stream.status == 200
        await client.post("/auth/logout", json={"refresh_token": signed_in.refresh_token})
        events = await stream.events_until_end(wait_s=3)

    assert _session_ended(events) == "token_revoked"


async def test_no_update_is_sent_once_the_session_has_ended(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn
):
    # A long block: the update below arrives in the first read, after the logout.
    timing = EventsTiming(ping_s=60, block_ms=30_000)
    app.dependency_overrides[get_events_timing] = lambda: timing
    try:
        async with open_event_stream(app, "/face/events", headers=signed_in.headers) as stream:
            await client.post("/auth/logout", headers=signed_in.headers)
            await publish_job_update(get_redis(), _update(signed_in.user.id, "done"))
            events = await stream.events_until_end(wait_s=3)
    finally:
        app.dependency_overrides.pop(get_events_timing, None)

    assert [event.event for event in events if event.data] == ["session_ended"]


async def test_a_stream_ends_when_its_access_token_expires(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    claims = decode_token(signed_in.access_token, "access")
    expires = int(datetime.now(UTC).timestamp()) + 2
    short_lived = sign(claims_for("access", signed_in.user, fam=claims["fam"], exp=expires))

    async with open_event_stream(app, "/face/events", headers=bearer(short_lived)) as stream:
        assert stream.status == 200
        ticket_response = await client.post("/face/events/ticket", headers=bearer(short_lived))
        events = await stream.events_until_end(wait_s=5)
    async with open_event_stream(
        app, "/face/events", params={"ticket": ticket_response.json()["ticket"]}
    ) as by_ticket:
        refused = json.loads(by_ticket.body)

    assert _session_ended(events) == "token_expired"
    assert by_ticket.status == 401 and refused["error"] == "token_expired"


async def test_a_ticket_is_refused_once_its_sign_in_has_ended(
    app: FastAPI, client: AsyncClient, signed_in: SignedIn, fast_events: EventsTiming
):
    ticket = await _ticket(client, signed_in)
    await client.post("/auth/logout", headers=signed_in.headers)

    async with open_event_stream(app, "/face/events", params={"ticket": ticket}) as stream:
        assert stream.status == 401
        assert json.loads(stream.body)["error"] == "token_revoked"


async def test_the_events_endpoint_documents_session_ended(client: AsyncClient):
    schema = (await client.get("/openapi.json")).json()

    description = schema["paths"]["/face/events"]["get"]["responses"]["200"]["description"]

    assert "session_ended" in description
