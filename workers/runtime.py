"""One consumer group as one FastStream app: a reader, a claimer and bounded retries.

Each group runs as its own process (`python -m workers.<group>`) with two subscribers on the
group's stream, both under this process's consumer name:

- the reader takes new entries (`XREADGROUP ... >`), one at a time;
- the claimer takes entries left pending for STREAM_CLAIM_IDLE_MS by any consumer of the
  group (`XAUTOCLAIM`): those of a consumer that died, and those whose handler failed here.
  FastStream's subscriber with `min_idle_time` reads no new entries, hence the pair.

Acknowledgement is manual: an entry is acked after its handler returned, which is after the
handler committed its side effect. A failed handler leaves the entry pending, so the claimer
retries it. Once an entry has been delivered more than STREAM_MAX_DELIVERIES times (XPENDING's
count), or when it cannot be parsed at all, it is parked on the dead-letter stream with the
reason and acked. Handlers make redelivery harmless with `record_processed`.
"""

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from faststream import AckPolicy, FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisStreamMessage
from faststream.redis.message import bDATA_KEY
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

import api.models  # noqa: F401  (registers every table, so foreign keys resolve)
from api.core.settings import Settings
from api.events.groups import ensure_consumer_groups
from api.events.models import ProcessedEvent
from contracts.events import Event, parse_event
from contracts.streams import DEAD_LETTER_STREAM

log = structlog.get_logger(__name__)

DEAD_LETTER_MAX_LENGTH = 100_000
GRACEFUL_TIMEOUT_S = 30.0
# Longest wait of the claimer between two empty XAUTOCLAIM scans, in milliseconds.
CLAIM_POLL_MAX_MS = 5_000

EventHandler = Callable[[Event], Awaitable[str]]
DeadLetterHook = Callable[[Event], Awaitable[None]]


class UnreadableEntry(ValueError):
    """A stream entry that no retry can make valid: it goes to the dead-letter stream."""


@dataclass(frozen=True)
class GroupConsumer:
    """What one consumer group does with the events of its stream.

    `handle` commits the event's side effect and returns a short outcome for the log
    (`sent`, `skipped`, `duplicate`...); it raises to have the entry retried.
    `on_dead_letter` runs before an event is parked for too many failed deliveries,
    so that nothing waits forever on it (a face job is marked failed, for instance).
    """

    stream: str
    group: str
    events: tuple[type[Event], ...]
    handle: EventHandler
    on_dead_letter: DeadLetterHook | None = None


def consumer_name() -> str:
    """Unique per live process in the group; a restarted process's leftovers are claimed."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def record_processed(session: AsyncSession, group: str, event_id: UUID) -> bool:
    """Mark the event handled by `group` within the caller's transaction.

    Returns False when the group already handled it. Call it first in the transaction that
    makes the side effect: a concurrent delivery of the same event waits on the row until
    this transaction ends, then sees it as handled (or takes over if this one rolled back).
    """
    inserted = await session.execute(
        insert(ProcessedEvent)
        .values(group=group, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(ProcessedEvent.event_id)
    )
    return inserted.scalar_one_or_none() is not None


def read_event(fields: Any, accepted: tuple[type[Event], ...]) -> Event:
    """The event of an entry's `name`/`body` fields; raises `UnreadableEntry`."""
    if not isinstance(fields, Mapping) or not isinstance(fields.get("body"), str | bytes):
        raise UnreadableEntry("the entry has no `body` field holding the event's JSON")

    try:
        event = parse_event(fields["body"])
    except ValueError as exc:
        raise UnreadableEntry(f"the body is not a valid event: {_describe(exc)}") from None

    if not isinstance(event, accepted):
        raise UnreadableEntry(f"event {event.name!r} is not handled by this group")
    return event


async def park_entry(
    redis: Redis,
    *,
    stream: str,
    group: str,
    entry_id: str,
    fields: Any,
    reason: str,
    deliveries: int,
) -> str:
    """Copy an entry to the dead-letter stream and ack it, in one MULTI; returns the copy's id."""
    record: dict[FieldT, EncodableT] = {
        "stream": stream,
        "group": group,
        "entry_id": entry_id,
        "reason": reason,
        "deliveries": str(deliveries),
        "consumer": consumer_name(),
        "parked_at": datetime.now(UTC).isoformat(),
    }
    if isinstance(fields, Mapping):
        record.update({f"entry.{key}": str(value) for key, value in fields.items()})

    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(DEAD_LETTER_STREAM, record, maxlen=DEAD_LETTER_MAX_LENGTH, approximate=True)
        if entry_id:
            pipe.xack(stream, group, entry_id)
        parked_id, *_ = await pipe.execute()

    return parked_id.decode() if isinstance(parked_id, bytes) else str(parked_id)


class EntryConsumer:
    """The FastStream handler shared by the reader and the claimer of one group."""

    def __init__(self, consumer: GroupConsumer, redis: Redis, max_deliveries: int) -> None:
        self.consumer = consumer
        self.redis = redis
        self.max_deliveries = max_deliveries

    async def __call__(self, fields: Any, message: RedisStreamMessage) -> None:
        entry_ids = message.raw_message["message_ids"]
        entry_id = entry_ids[0].decode() if entry_ids else ""
        context = {
            "stream": self.consumer.stream,
            "group": self.consumer.group,
            "entry_id": entry_id,
        }
        with structlog.contextvars.bound_contextvars(**context):
            deliveries = await message.get_delivery_count()
            try:
                event = read_event(fields, self.consumer.events)
            except UnreadableEntry as exc:
                await self._park(entry_id, fields, str(exc), deliveries)
                return

            with structlog.contextvars.bound_contextvars(
                event_id=str(event.id), event_name=event.name
            ):
                await self._deliver(event, entry_id, fields, deliveries, message)

    async def _deliver(
        self,
        event: Event,
        entry_id: str,
        fields: Any,
        deliveries: int,
        message: RedisStreamMessage,
    ) -> None:
        if deliveries > self.max_deliveries:
            if self.consumer.on_dead_letter is not None:
                await self.consumer.on_dead_letter(event)
            reason = f"delivered {deliveries} times, more than STREAM_MAX_DELIVERIES"
            await self._park(entry_id, fields, reason, deliveries)
            return

        log.info("stream.message.received", deliveries=deliveries)
        started = time.perf_counter()
        try:
            outcome = await self.consumer.handle(event)
        except Exception:
            # Left pending: the claimer retries it after STREAM_CLAIM_IDLE_MS.
            log.exception(
                "stream.message.failed",
                deliveries=deliveries,
                max_deliveries=self.max_deliveries,
            )
            return

        await message.ack()
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info("stream.message.processed", outcome=outcome, duration_ms=elapsed_ms)

    async def _park(self, entry_id: str, fields: Any, reason: str, deliveries: int) -> None:
        parked_id = await park_entry(
            self.redis,
            stream=self.consumer.stream,
            group=self.consumer.group,
            entry_id=entry_id,
            fields=fields,
            reason=reason,
            deliveries=deliveries,
        )
        log.warning(
            "stream.message.dead_lettered",
            reason=reason,
            deliveries=deliveries,
            dead_letter_stream=DEAD_LETTER_STREAM,
            dead_letter_id=parked_id,
        )


async def _tolerant_parser(msg: Any, original_parser: Callable[[Any], Awaitable[Any]]) -> Any:
    """Decode raw entry fields leniently, so that bytes that are not UTF-8 reach the handler
    (and the dead-letter stream) instead of failing in FastStream's parser on every claim."""
    data = msg.get("data")
    if isinstance(data, dict) and bDATA_KEY not in data:
        msg = {**msg, "data": {_text(key): _text(value) for key, value in data.items()}}
    return await original_parser(msg)


def build_app(
    consumer: GroupConsumer,
    settings: Settings,
    redis: Redis,
    *,
    on_startup: tuple[Callable[[], Awaitable[None]], ...] = (),
    on_shutdown: tuple[Callable[[], Awaitable[None]], ...] = (),
) -> FastStream:
    """The group's FastStream app: consumer groups ensured at startup, reader and claimer."""
    framework_log = structlog.get_logger("faststream")  # JSON lines like ours
    broker = RedisBroker(
        settings.redis_url,
        graceful_timeout=GRACEFUL_TIMEOUT_S,
        logger=framework_log,
        # FastStream's own per-message lines duplicate ours; its errors stay visible.
        log_level=logging.DEBUG,
    )
    name = consumer_name()
    reader = StreamSub(consumer.stream, group=consumer.group, consumer=name, max_records=1)
    claimer = StreamSub(
        consumer.stream,
        group=consumer.group,
        consumer=name,
        min_idle_time=settings.stream_claim_idle_ms,
        polling_interval=min(settings.stream_claim_idle_ms // 2, CLAIM_POLL_MAX_MS),
    )
    handler = EntryConsumer(consumer, redis, settings.stream_max_deliveries)

    async def consume(fields: Any, message: RedisStreamMessage) -> None:
        await handler(fields, message)

    for subscription in (reader, claimer):
        broker.subscriber(
            stream=subscription, ack_policy=AckPolicy.MANUAL, parser=_tolerant_parser
        )(consume)

    async def start() -> None:
        await ensure_consumer_groups(redis)
        for hook in on_startup:
            await hook()
        log.info(
            "worker.started",
            stream=consumer.stream,
            group=consumer.group,
            consumer=name,
            claim_idle_ms=settings.stream_claim_idle_ms,
            max_deliveries=settings.stream_max_deliveries,
        )

    async def stop() -> None:
        log.info("worker.stopping", group=consumer.group, consumer=name)
        await _leave_group(redis, consumer, name)
        for hook in on_shutdown:
            await hook()

    return FastStream(broker, logger=framework_log, on_startup=[start], after_shutdown=[stop])


async def _leave_group(redis: Redis, consumer: GroupConsumer, name: str) -> None:
    """Remove this consumer from the group on a clean stop, so that names of stopped
    processes do not pile up in XINFO CONSUMERS. Only when it holds no pending entry:
    XGROUP DELCONSUMER drops a consumer's pending entries, and they must stay claimable."""
    try:
        pending = await redis.xpending_range(
            consumer.stream, consumer.group, "-", "+", 1, consumername=name
        )
        if not pending:
            await redis.xgroup_delconsumer(consumer.stream, consumer.group, name)
    except RedisError as exc:
        log.warning("worker.leave_group.failed", error=str(exc))


def run(app: FastStream) -> None:
    """Run until SIGTERM or SIGINT; FastStream then lets the message in hand finish."""
    asyncio.run(app.run())


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _describe(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        location = ".".join(str(part) for part in error["loc"]) or "body"
        return f"{location}: {error['msg']}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
