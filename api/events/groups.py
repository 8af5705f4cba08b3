"""Consumer groups are created from the first entry, before any producer or consumer runs,
so that no entry published earlier is skipped (a group created at `$` would miss it)."""

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from contracts.streams import GROUPS_BY_STREAM

log = structlog.get_logger(__name__)


async def ensure_consumer_groups(redis: Redis) -> None:
    for stream, groups in GROUPS_BY_STREAM.items():
        for group in groups:
            try:
                await redis.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
                continue
            log.info("streams.group.created", stream=stream, group=group)
