"""A streaming ASGI client for Server-Sent Events.

httpx's ASGITransport reads a whole response before returning it, which never happens for
an event stream. This drives the app directly: events are read as they are sent, and
closing the stream sends `http.disconnect` and waits for the app to finish.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message


@dataclass
class ServerEvent:
    event: str | None = None
    data: str | None = None
    id: str | None = None
    comment: str | None = None


@dataclass
class EventStream:
    status: int
    headers: dict[str, str]
    _messages: asyncio.Queue[Message]
    _buffer: str = ""
    _pending: list[ServerEvent] = field(default_factory=list)
    body: bytes = b""
    ended: bool = False  # the server sent the last body message

    async def next_event(self, wait_s: float = 5.0) -> ServerEvent:
        """The next event or comment; fails the test when none arrives within `wait_s` seconds."""
        while not self._pending:
            self._feed(await asyncio.wait_for(self._messages.get(), wait_s))
        return self._pending.pop(0)

    async def events_until_end(self, wait_s: float = 5.0) -> list[ServerEvent]:
        """Every event left, once the server ends the response; fails the test unless it
        ends within `wait_s` seconds."""

        async def drain() -> None:
            while not self.ended:
                self._feed(await self._messages.get())

        await asyncio.wait_for(drain(), wait_s)
        events, self._pending = self._pending, []
        return events

    def _feed(self, message: Message) -> None:
        self._buffer += message.get("body", b"").decode().replace("\r\n", "\n")
        *blocks, self._buffer = self._buffer.split("\n\n")
        self._pending.extend(_parse(block) for block in blocks if block)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.ended = True

    async def next_data_event(self, wait_s: float = 5.0) -> ServerEvent:
        """The next event that carries data, skipping heartbeats."""
        while True:
            event = await self.next_event(wait_s)
            if event.data is not None:
                return event


def _parse(block: str) -> ServerEvent:
    event = ServerEvent()
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            event.comment = value
        elif name in ("event", "data", "id"):
            setattr(event, name, value)
    return event


@asynccontextmanager
async def open_event_stream(
    app: ASGIApp,
    path: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> AsyncIterator[EventStream]:
    """Connect to `path`; on exit disconnect and require the app to stop within 5 s."""
    disconnected = asyncio.Event()
    messages: asyncio.Queue[Message] = asyncio.Queue()
    request_sent = False

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await messages.put(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params or {}).encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    running = asyncio.create_task(app(scope, receive, send))

    start = await asyncio.wait_for(messages.get(), 5)
    stream = EventStream(
        status=start["status"],
        headers={k.decode().lower(): v.decode() for k, v in start.get("headers", [])},
        _messages=messages,
    )
    if stream.status != 200:
        stream.body = (await asyncio.wait_for(messages.get(), 5)).get("body", b"")
    try:
        yield stream
    finally:
        disconnected.set()
        await asyncio.wait_for(running, 5)  # the stream must end once the client leaves
