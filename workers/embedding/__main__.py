"""`python -m workers.embedding`: one consumer of the `embedding` group.

The face pipeline is loaded once, before the first message. Each process embeds one photo at
a time on TORCH_THREADS threads; scale with more processes (two single-threaded processes
beat one process with two threads on CPU).
"""

import sys

import structlog

from api.core.database import get_engine, get_sessionmaker
from api.core.logging import configure_logging
from api.core.redis import get_redis
from api.core.settings import get_settings
from workers.embedding.consumer import embedding_consumer, model_version
from workers.face import FacePipeline, WeightsError
from workers.runtime import build_app, run

log = structlog.get_logger(__name__)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)

    try:
        pipeline = FacePipeline(
            settings.model_weights_path,
            device=settings.device,
            embed_dim=settings.embed_dim,
            img_size=settings.img_size,
            threads=settings.torch_threads,
            max_pixels=settings.max_image_pixels,
        )
    except (WeightsError, ValueError) as exc:
        log.error("worker.start.refused", group="embedding", error=str(exc))
        sys.exit(f"embedding worker not started: {exc}")

    redis = get_redis()

    async def close() -> None:
        await redis.aclose()
        await get_engine().dispose()

    consumer = embedding_consumer(
        settings, get_sessionmaker(), redis, pipeline, model_version(pipeline.card)
    )
    run(build_app(consumer, settings, redis, on_shutdown=(close,)))


if __name__ == "__main__":
    main()
