"""Server-Sent Events of a user's face jobs, read from their Redis job-update stream.

Each SSE event is one stream entry: `event` is the job status (`accepted`, `running`,
`done`, `failed`), `data` the JSON of `FaceJobUpdated`, `id` the stream entry id. A client
that reconnects with `Last-Event-ID` gets every entry after that id that the stream still
holds; without it, only entries added after it connected.

The stream lasts only as long as the access token that opened it (directly, or through a
ticket). After every XREAD, at most `block_ms` apart, it checks that token still holds; once
it expires, its sign-in is logged out or the password is reset, a last `session_ended`
event carries `{"error": <code>, "detail": ...}` (`token_expired`, `token_revoked` or
`invalid_token`) and the stream closes.
"""

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast
from uuid import UUID

import structlog
from fastapi import Header
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette import ServerSentEvent

from api.accounts.dependencies import user_of_grant
from api.accounts.errors import Unauthorized
from api.accounts.tokens import AccessGrant
from api.core.database import get_sessionmaker
from api.face.errors import InvalidLastEventId
from contracts.events import FaceJobUpdated
from contracts.streams import job_updates_stream

log = structlog.get_logger(__name__)

_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_READ_BATCH = 100


@dataclass(frozen=True)
class EventsTiming:
    """How often a heartbeat is sent, and how long one XREAD blocks before looping.

    The block bounds how long a stream outlives its client. A dependency, so tests can
    override it with short values.
    """

    ping_s: float = 15
    block_ms: int = 5_000


def get_events_timing() -> EventsTiming:
    return EventsTiming()


def resume_after(
    last_event_id: Annotated[
        str | None, Header(description="Resume after this entry id (sent by EventSource).")
    ] = None,
) -> str | None:
    """Dependency: the `Last-Event-ID` to resume after, checked before any ticket is spent."""
    if last_event_id and not _is_stream_entry_id(last_event_id):
        raise InvalidLastEventId()

    return last_event_id or None


def _is_stream_entry_id(value: str) -> bool:
    """`<ms>-<seq>`, each part a 64-bit unsigned integer as Redis requires."""
    if not _ENTRY_ID.match(value):
        return False
    return all(int(part) < 2**64 for part in value.split("-"))


async def newest_entry_id(redis: Redis, user_id: UUID) -> str:
    """The id of the newest entry on the user's stream (`0-0` when empty).

    Reading after a concrete id rather than `$` loses nothing added between two XREADs.
    """
    newest = await redis.xrevrange(job_updates_stream(str(user_id)), count=1)

    # An entry XREVRANGE returns always has an id; redis-py's entry type also allows None.
    return _text(cast("str | bytes", newest[0][0])) if newest else "0-0"


async def job_update_events(
    redis: Redis, grant: AccessGrant, after_id: str, block_ms: int
) -> AsyncIterator[ServerSentEvent]:
    """Yield the user's job updates after `after_id` until the client goes away or the
    grant stops holding (then a last `session_ended` event).

    sse-starlette cancels this generator on disconnect (the pending XREAD is abandoned and
    its connection dropped). A Redis or database failure ends the stream; the client
    reconnects.
    """
    user_id = str(grant.user_id)
    stream = job_updates_stream(user_id)
    last_id = after_id
    log.info("face.events.stream.opened", user_id=user_id, after_id=after_id)

    try:
        while True:
            # Never block past the token's expiry; XREAD's BLOCK 0 would mean forever.
            block = max(1, min(block_ms, int(grant.seconds_left() * 1000)))
            # The client speaks RESP2 (redis-py's default), whose XREAD reply is the
            # `list[list[Any]]` of [stream, entries] pairs in redis-py's reply union.
            batches = cast(
                "list[list[Any]] | None",
                await redis.xread({stream: last_id}, count=_READ_BATCH, block=block),
            )

            ended = await _grant_ended(grant)
            if ended is not None:
                log.info("face.events.stream.ended", user_id=user_id, reason=ended.code)
                yield _session_ended(ended)
                return

            for _, entries in batches or ():
                for entry_id, fields in entries:
                    last_id = _text(entry_id)
                    event = _to_sse(last_id, fields)
                    if event is not None:
                        yield event
    except (RedisError, SQLAlchemyError) as exc:
        log.warning("face.events.stream.failed", user_id=user_id, error=str(exc))
    finally:
        log.info("face.events.stream.closed", user_id=user_id, last_id=last_id)


async def _grant_ended(grant: AccessGrant) -> Unauthorized | None:
    """Why the grant no longer holds, or None. A short session, not one held for hours."""
    try:
        async with get_sessionmaker()() as session:
            await user_of_grant(session, grant)
    except Unauthorized as exc:
        return exc

    return None


def _session_ended(error: Unauthorized) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps({"error": error.code, "detail": error.detail}), event="session_ended"
    )


def _to_sse(
    entry_id: str, fields: Mapping[str | bytes, str | bytes]
) -> ServerSentEvent | None:
    body = fields.get("body") or fields.get(b"body")
    try:
        update = FaceJobUpdated.model_validate_json(body or "")
    except ValidationError:
        log.warning("face.events.entry.skipped", entry_id=entry_id)
        return None

    return ServerSentEvent(data=update.model_dump_json(), event=update.status, id=entry_id)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
