"""The shared consumer runtime: reader, claimer, bounded retries and the dead-letter stream.

A recording handler stands in for a real group, so these tests are about delivery only.
"""

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable
from uuid import uuid4

from faststream.redis import TestRedisBroker
from redis.asyncio import Redis

from api.core.settings import PROJECT_ROOT, Settings
from api.events.groups import ensure_consumer_groups
from contracts.events import Event, FaceSubmitted, UserRegistered
from contracts.streams import ACCOUNTS_STREAM, MAIL_GROUP
from tests.workers.conftest import (
    MAX_DELIVERIES,
    dead_letters,
    eventually,
    pending_count,
)
from workers.runtime import GroupConsumer, build_app, record_processed


class Recorder:
    """A handler that records events and fails the first `failures` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[Event] = []
        self.handled: list[Event] = []
        self.dead_lettered: list[Event] = []

    async def handle(self, event: Event) -> str:
        self.calls.append(event)
        if len(self.calls) <= self.failures:
            raise RuntimeError("simulated failure")
        self.handled.append(event)
        return "recorded"

    async def on_dead_letter(self, event: Event) -> None:
        self.dead_lettered.append(event)

    def consumer(self) -> GroupConsumer:
        return GroupConsumer(
            stream=ACCOUNTS_STREAM,
            group=MAIL_GROUP,
            events=(UserRegistered,),
            handle=self.handle,
            on_dead_letter=self.on_dead_letter,
        )


def registered() -> UserRegistered:
    return UserRegistered(user_id=uuid4(), email="someone@example.com")


async def test_reader_handles_a_new_entry_and_acks_it(redis: Redis, start_worker) -> None:
    recorder = Recorder()
    event = registered()

    async with start_worker(recorder.consumer()):
        await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
        await eventually(lambda: _true(recorder.handled))
        await eventually(lambda: _zero(pending_count(redis, ACCOUNTS_STREAM, MAIL_GROUP)))

    assert [e.id for e in recorder.handled] == [event.id]


async def test_groups_are_created_at_startup_from_the_first_entry(
    redis: Redis, start_worker
) -> None:
    recorder = Recorder()
    earlier = registered()
    await redis.xadd(ACCOUNTS_STREAM, earlier.to_stream())  # before any group exists

    async with start_worker(recorder.consumer()):
        await eventually(lambda: _true(recorder.handled))

    assert recorder.handled[0].id == earlier.id


async def test_unreadable_entries_are_dead_lettered_and_the_worker_goes_on(
    redis: Redis, start_worker
) -> None:
    recorder = Recorder()
    good = registered()
    other_group = FaceSubmitted(
        job_id=uuid4(), user_id=uuid4(), upload_id=uuid4(), purpose="enroll"
    )

    async with start_worker(recorder.consumer()):
        not_json = await redis.xadd(ACCOUNTS_STREAM, {"name": "user.registered", "body": "{"})
        no_body = await redis.xadd(ACCOUNTS_STREAM, {"hello": "world"})
        binary = await redis.xadd(ACCOUNTS_STREAM, {"body": b"\xff\xfe\x00"})
        wrong = await redis.xadd(ACCOUNTS_STREAM, other_group.to_stream())
        await redis.xadd(ACCOUNTS_STREAM, good.to_stream())

        await eventually(lambda: _true(recorder.handled))
        parked = await eventually(lambda: _at_least(dead_letters(redis), 4))
        assert await pending_count(redis, ACCOUNTS_STREAM, MAIL_GROUP) == 0

    assert [e.id for e in recorder.handled] == [good.id]
    by_entry = {record["entry_id"]: record for record in parked}
    assert set(by_entry) == {not_json, no_body, binary, wrong}
    for record in parked:
        assert record["stream"] == ACCOUNTS_STREAM
        assert record["group"] == MAIL_GROUP
        assert record["deliveries"] == "1"  # parked at once, not retried
    assert "not a valid event" in by_entry[not_json]["reason"]
    assert "no `body` field" in by_entry[no_body]["reason"]
    assert "not handled by this group" in by_entry[wrong]["reason"]
    assert by_entry[not_json]["entry.body"] == "{"  # the original is kept for an operator


async def test_entry_of_a_dead_consumer_is_claimed_after_the_idle_time(
    redis: Redis, start_worker
) -> None:
    recorder = Recorder()
    event = registered()
    await ensure_consumer_groups(redis)
    entry_id = await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
    # A consumer reads the entry and dies without acking it.
    read = await redis.xreadgroup(MAIL_GROUP, "dead-consumer", {ACCOUNTS_STREAM: ">"}, count=1)
    assert read[0][1][0][0] == entry_id

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with start_worker(recorder.consumer()):
        await eventually(lambda: _true(recorder.handled))
        elapsed = loop.time() - started
        await eventually(lambda: _zero(pending_count(redis, ACCOUNTS_STREAM, MAIL_GROUP)))

    assert [e.id for e in recorder.handled] == [event.id]
    assert elapsed >= 0.9  # only once idle for STREAM_CLAIM_IDLE_MS (1 s here)


async def test_failed_handler_is_retried_by_the_claimer(redis: Redis, start_worker) -> None:
    recorder = Recorder(failures=1)
    event = registered()

    async with start_worker(recorder.consumer()):
        await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
        await eventually(lambda: _true(recorder.handled))
        await eventually(lambda: _zero(pending_count(redis, ACCOUNTS_STREAM, MAIL_GROUP)))

    assert [e.id for e in recorder.calls] == [event.id, event.id]
    assert await dead_letters(redis) == []


async def test_entry_failing_every_delivery_is_dead_lettered(redis: Redis, start_worker) -> None:
    recorder = Recorder(failures=100)
    event = registered()

    async with start_worker(recorder.consumer()):
        entry_id = await redis.xadd(ACCOUNTS_STREAM, event.to_stream())
        parked = await eventually(lambda: _at_least(dead_letters(redis), 1))
        assert await pending_count(redis, ACCOUNTS_STREAM, MAIL_GROUP) == 0

    assert len(recorder.calls) == MAX_DELIVERIES  # then parked without another attempt
    assert [e.id for e in recorder.dead_lettered] == [event.id]
    (record,) = parked
    assert record["entry_id"] == entry_id
    assert record["deliveries"] == str(MAX_DELIVERIES + 1)
    assert "STREAM_MAX_DELIVERIES" in record["reason"]


async def test_in_memory_broker_runs_the_same_handler(
    redis: Redis, worker_settings: Settings
) -> None:
    recorder = Recorder()
    event = registered()
    app = build_app(recorder.consumer(), worker_settings, redis)

    async with TestRedisBroker(app.broker) as broker:
        await broker.publish(event.to_stream(), stream=ACCOUNTS_STREAM)
        await broker.publish({"name": "user.registered", "body": "[]"}, stream=ACCOUNTS_STREAM)

    assert [e.id for e in recorder.handled] == [event.id]
    (record,) = await dead_letters(redis)
    assert "not a valid event" in record["reason"]


async def test_record_processed_is_true_once_per_group(sessions) -> None:
    event_id = uuid4()
    async with sessions() as session:
        assert await record_processed(session, MAIL_GROUP, event_id) is True
        await session.commit()
    async with sessions() as session:
        assert await record_processed(session, MAIL_GROUP, event_id) is False
        assert await record_processed(session, "embedding", event_id) is True
        await session.rollback()


async def test_worker_process_stops_gracefully_on_sigterm(redis: Redis) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.verification",
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOG_LEVEL": "INFO", "LOG_FORMAT": "json"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output = b""
        while b"worker.started" not in output:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, f"worker exited before starting: {output.decode()}"
            output += line
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()

    assert process.returncode == 0, (output + rest).decode()
    assert b"worker.stopping" in rest


async def _true(values: list[Event]) -> bool:
    return bool(values)


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def _at_least(
    records: Awaitable[list[dict[str, str]]], count: int
) -> list[dict[str, str]] | None:
    found = await records
    return found if len(found) >= count else None
