"""`python -m workers.mail`: one consumer of the `mail` group; run as many as needed."""

from api.core.database import get_engine, get_sessionmaker
from api.core.logging import configure_logging
from api.core.redis import get_redis
from api.core.settings import get_settings
from workers.mail.consumer import mail_consumer
from workers.mail.delivery import SmtpMailer
from workers.runtime import build_app, run


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    redis = get_redis()

    async def close() -> None:
        await redis.aclose()
        await get_engine().dispose()

    consumer = mail_consumer(settings, get_sessionmaker(), SmtpMailer(settings))
    run(build_app(consumer, settings, redis, on_shutdown=(close,)))


if __name__ == "__main__":
    main()
