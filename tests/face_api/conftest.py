"""Fixtures of the face API tests: a signed-in user, uploads, fast event streams."""

from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from api.face.events_stream import EventsTiming, get_events_timing
from tests.face_api import images
from tests.factories import SignedIn, sign_in

Submit = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def signed_in(client: AsyncClient) -> SignedIn:
    return await sign_in(client)


@pytest.fixture
def submit(client: AsyncClient, signed_in: SignedIn) -> Submit:
    """`await submit("verify", content=..., content_type=...)`: POST a photo as `signed_in`."""

    async def post(
        purpose: str = "enroll",
        *,
        content: bytes | None = None,
        content_type: str = "image/png",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        path = "/face/create" if purpose == "enroll" else "/face/verify"
        photo = images.png() if content is None else content
        return await client.post(
            path,
            files={"image": ("photo", photo, content_type)},
            headers=signed_in.headers if headers is None else headers,
        )

    return post


@pytest.fixture
def fast_events(app: FastAPI) -> Iterator[EventsTiming]:
    """Heartbeats every 0.2 s and XREAD blocks of 0.1 s, so stream tests run quickly."""
    timing = EventsTiming(ping_s=0.2, block_ms=100)
    app.dependency_overrides[get_events_timing] = lambda: timing
    yield timing
    app.dependency_overrides.pop(get_events_timing, None)
