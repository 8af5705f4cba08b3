from functools import lru_cache

from redis.asyncio import Redis

from api.core.settings import get_settings

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
