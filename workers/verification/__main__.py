"""`python -m workers.verification`: one consumer of the `verification` group.

It needs no face model (numpy only), so it is cheap to run beside the API.
"""

import sys

import structlog

from api.core.database import get_engine, get_sessionmaker
from api.core.logging import configure_logging
from api.core.redis import get_redis
from api.core.settings import get_settings
from workers.runtime import build_app, run
from workers.verification.consumer import verification_consumer
from workers.verification.decision import decision_threshold

log = structlog.get_logger(__name__)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)

    try:
        threshold = decision_threshold(settings)
    except ValueError as exc:
        log.error("worker.start.refused", group="verification", error=str(exc))
        sys.exit(f"verification worker not started: {exc}")

    redis = get_redis()

    async def close() -> None:
        await redis.aclose()
        await get_engine().dispose()

    consumer = verification_consumer(get_sessionmaker(), redis, threshold)
    run(build_app(consumer, settings, redis, on_shutdown=(close,)))


if __name__ == "__main__":
    main()
