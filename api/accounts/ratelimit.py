"""Rate limits kept in Redis (moving windows from the `limits` library).

Each limit is a string such as `5/minute` from the settings, applied to one identifier: the
client address, or the normalised email of the account being tried. Exhausted limits answer
429 `rate_limited` with a Retry-After header.
"""

import math
import time
from functools import lru_cache

import structlog
from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from api.accounts.errors import AccountsUnavailable, RateLimited
from api.core.settings import get_settings

log = structlog.get_logger(__name__)

KEY_PREFIX = "accounts:ratelimit"


@lru_cache(maxsize=4)
def _limiter_for(redis_url: str) -> MovingWindowRateLimiter:
    storage = RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=KEY_PREFIX)
    return MovingWindowRateLimiter(storage)


def _limiter() -> MovingWindowRateLimiter:
    return _limiter_for(get_settings().redis_url)


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


def client_address(request: Request) -> str:
    """The caller's address; behind TRUSTED_PROXIES proxies, read from X-Forwarded-For.

    Each trusted proxy appends the address it saw, so the client is the entry that many
    places from the right; anything further left was written by the client and is ignored.
    """
    proxies = get_settings().trusted_proxies
    peer = request.client.host if request.client else "unknown"
    if proxies == 0:
        return peer

    forwarded = [
        part.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return forwarded[0] if forwarded else peer
    return forwarded[-proxies]


async def _refuse(limit: str, scope: str, identifier: str) -> None:
    stats = await _limiter().get_window_stats(_item(limit), scope, identifier)
    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
    raise RateLimited(headers={"Retry-After": str(retry_after)})


async def hit(limit: str, scope: str, identifier: str) -> None:
    """Count one attempt; 429 when the limit is already spent.

    Fails closed: without Redis no attempt is allowed (503), so an outage cannot become a
    window for unlimited password guessing.
    """
    try:
        allowed = await _limiter().hit(_item(limit), scope, identifier)
    except RedisError as exc:
        log.error("accounts.ratelimit.unavailable", scope=scope, error=str(exc))
        raise AccountsUnavailable() from exc
    if not allowed:
        await _refuse(limit, scope, identifier)


async def clear(limit: str, scope: str, identifier: str) -> None:
    try:
        await _limiter().clear(_item(limit), scope, identifier)
    except RedisError as exc:  # the counter then simply runs out at the end of its window
        log.warning("accounts.ratelimit.clear_failed", scope=scope, error=str(exc))
