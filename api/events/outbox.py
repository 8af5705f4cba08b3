"""Stage events inside a transaction; publish them once it has committed."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.redis import stream_fields
from api.events.models import OutboxEvent
from contracts.events import Event

log = structlog.get_logger(__name__)

STREAM_MAX_LENGTH = 100_000


def stage(session: AsyncSession, event: Event) -> Event:
    """Add the event to the caller's transaction; it is published only if that commits."""
    session.add(
        OutboxEvent(
            id=event.id,
            stream=event.stream,
            name=event.to_stream()["name"],
            body=event.model_dump_json(),
        )
    )
    return event


async def publish_committed(
    redis: Redis, sessions: async_sessionmaker[AsyncSession], events: Sequence[Event]
) -> None:
    """Publish events whose transaction has committed. Failures are left to the relay."""
    published: list[UUID] = []
    for event in events:
        try:
            entry_id = await redis.xadd(
                event.stream, stream_fields(event), maxlen=STREAM_MAX_LENGTH, approximate=True
            )
        except RedisError as exc:
            log.warning("outbox.publish.deferred", event_id=str(event.id), error=str(exc))
            continue
        published.append(event.id)
        log.info("outbox.publish.succeeded", event_id=str(event.id), stream=event.stream,
                 entry_id=entry_id)
    await _mark_published(sessions, published)


async def _mark_published(
    sessions: async_sessionmaker[AsyncSession], event_ids: Sequence[UUID]
) -> None:
    if not event_ids:
        return
    async with sessions() as session:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(event_ids))
            .values(published_at=datetime.now(UTC))
        )
        await session.commit()


async def relay_pending(
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    older_than: timedelta = timedelta(seconds=5),
    batch_size: int = 100,
) -> int:
    """Publish events left unpublished by a crash or a Redis outage. Returns how many."""
    cutoff = datetime.now(UTC) - older_than
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None), OutboxEvent.created_at < cutoff)
                .order_by(OutboxEvent.created_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            await redis.xadd(
                row.stream,
                {"name": row.name, "body": row.body},
                maxlen=STREAM_MAX_LENGTH,
                approximate=True,
            )
            row.published_at = datetime.now(UTC)
        await session.commit()
    if rows:
        log.info("outbox.relay.published", count=len(rows))
    return len(rows)


async def run_relay(
    redis: Redis, sessions: async_sessionmaker[AsyncSession], interval_s: float = 2.0
) -> None:
    """Background loop of the API process; survives Redis and database outages."""
    while True:
        try:
            await relay_pending(redis, sessions)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a transient outage must not end the relay
            log.warning("outbox.relay.failed", error=str(exc))
        await asyncio.sleep(interval_s)
