from functools import lru_cache
from typing import cast

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from api.core.settings import get_settings
from contracts.events import Event

# Longer than any blocking read (the SSE endpoint blocks XREAD for 5 s); redis-py's own
# default of 5 s would time those reads out.
SOCKET_TIMEOUT_S = 30


@lru_cache
def get_redis() -> Redis:
    return Redis.from_url(
        get_settings().redis_url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def stream_fields(event: Event) -> dict[FieldT, EncodableT]:
    """The event's Redis Streams fields, typed as redis-py's `xadd` declares them.

    redis-py asks for an invariant `dict` of its encodable union, which no `dict[str, str]`
    matches although every such dict is a valid entry; `to_stream()` builds a fresh one.
    """
    return cast("dict[FieldT, EncodableT]", event.to_stream())
