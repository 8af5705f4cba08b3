"""The Effi Core HTTP API."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from api.core.database import get_sessionmaker
from api.core.errors import VALIDATION_ERROR_RESPONSE, install_error_handlers
from api.core.logging import configure_logging
from api.core.middleware import RequestContextMiddleware
from api.core.redis import get_redis
from api.core.settings import get_settings
from api.core.spa import SinglePageApp
from api.events.groups import ensure_consumer_groups
from api.events.outbox import run_relay

log = structlog.get_logger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    redis = get_redis()
    await ensure_consumer_groups(redis)
    relay = asyncio.create_task(run_relay(redis, get_sessionmaker()))
    log.info("api.startup.completed", env=get_settings().env)
    try:
        yield
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = FastAPI(
        title="Effi Core",
        version="0.1.0",
        summary="Accounts, sign-in and face verification you can self-host.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)

    from api.accounts.routes import router as accounts_router
    from api.face.routes import router as face_router

    # Documents the `validation_error` body the handler renders instead of FastAPI's default.
    app.include_router(accounts_router, responses=VALIDATION_ERROR_RESPONSE)
    app.include_router(face_router, responses=VALIDATION_ERROR_RESPONSE)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    if settings.frontend_dist and (settings.frontend_dist / "index.html").is_file():
        app.mount("/", SinglePageApp(settings.frontend_dist), name="frontend")

    return app


app = create_app()
