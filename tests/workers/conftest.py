"""Fixtures for the consumer tests: workers started in-process against the real Redis test
database, a local SMTP server that keeps what it receives, and one face pipeline per run."""

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from faststream import FastStream
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.database import get_sessionmaker
from api.core.redis import get_redis
from api.core.settings import PROJECT_ROOT, Settings, get_settings
from workers.runtime import GroupConsumer, build_app

CLAIM_IDLE_MS = 1000
MAX_DELIVERIES = 2


@pytest.fixture
def redis() -> Redis:
    return get_redis()


@pytest.fixture
def sessions() -> async_sessionmaker[AsyncSession]:
    return get_sessionmaker()


@pytest.fixture
def worker_settings(configure: Callable[..., None]) -> Settings:
    """Short claim idle time and few deliveries, so that retries happen within seconds."""
    configure(STREAM_CLAIM_IDLE_MS=str(CLAIM_IDLE_MS), STREAM_MAX_DELIVERIES=str(MAX_DELIVERIES))
    return get_settings()


@asynccontextmanager
async def running(app: FastStream) -> AsyncIterator[FastStream]:
    """The app's startup hooks and broker running for the block, then a graceful stop."""
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
def start_worker(redis: Redis, worker_settings: Settings) -> Callable[..., Any]:
    """`async with start_worker(consumer):` the group's app running against real Redis."""

    def start(
        consumer: GroupConsumer, settings: Settings | None = None
    ) -> AbstractAsyncContextManager[FastStream]:
        return running(build_app(consumer, settings or worker_settings, redis))

    return start


async def eventually(
    check: Callable[[], Awaitable[object]], timeout_s: float = 10.0, interval_s: float = 0.05
) -> object:
    """Poll `check` until it returns something truthy; fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s (last value: {value!r})")
        await asyncio.sleep(interval_s)


async def pending_count(redis: Redis, stream: str, group: str) -> int:
    summary = await redis.xpending(stream, group)
    return int(summary["pending"])


async def dead_letters(redis: Redis) -> list[dict[str, str]]:
    from contracts.streams import DEAD_LETTER_STREAM

    return [fields for _, fields in await redis.xrange(DEAD_LETTER_STREAM)]


class MailSink:
    """aiosmtpd handler: keeps every mail it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(configure: Callable[..., None]) -> Iterator[MailSink]:
    """A plain SMTP server on a free local port, with SMTP=1 pointed at it."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    configure(SMTP="1", SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_EMAIL="", SMTP_PASS="")
    yield sink
    controller.stop()


def lfw_images() -> Path:
    root = Path(os.environ.get("LFW_DIR", PROJECT_ROOT.parent / "shared" / "data" / "lfw"))
    return root / "images"


@pytest.fixture(scope="session")
def face_pipeline() -> Any:
    """One `workers.face.FacePipeline` per run (imported here: it loads torch)."""
    if not lfw_images().is_dir():
        pytest.skip(f"LFW not found at {lfw_images()}: set LFW_DIR to the LFW root")
    from workers.face import FacePipeline

    return FacePipeline(threads=1)
