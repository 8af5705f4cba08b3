"""Shared fixtures: test settings, a database migrated once per run, clean state per test,
and an HTTP client on the app with its lifespan running.

Connection settings come from the usual variables (DB_HOST, DB_PORT, DB_USER, DB_PASS,
DB_NAME, REDIS_HOST, REDIS_PORT or REDIS_URL); DB_NAME defaults to `effi_test`. Every test
starts from empty tables and an empty Redis database (number TEST_REDIS_DB, default 15).
"""

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

GENEROUS_LIMIT = "10000/minute"


def _test_redis_url() -> str:
    db = os.environ.get("TEST_REDIS_DB", "15")
    configured = os.environ.get("REDIS_URL")
    if not configured:
        host = os.environ.get("REDIS_HOST", "127.0.0.1")
        port = os.environ.get("REDIS_PORT", "6379")
        return f"redis://{host}:{port}/{db}"
    parts = urlsplit(configured)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _configure_test_environment() -> None:
    """Runs at import, before any application module reads the settings."""
    os.environ.setdefault("DB_NAME", "effi_test")
    if "test" not in os.environ["DB_NAME"]:
        raise RuntimeError(
            f"DB_NAME={os.environ['DB_NAME']} does not look like a test database and the"
            " tests empty every table; set DB_NAME to a name containing 'test'."
        )
    os.environ.pop("DATABASE_URL", None)  # tests always use DB_* so the name check holds
    os.environ["REDIS_URL"] = _test_redis_url()
    os.environ["ENV"] = "test"
    os.environ["SMTP"] = "0"
    os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for limit in (
        "LOGIN_LIMIT_ACCOUNT", "LOGIN_LIMIT_CLIENT", "REGISTER_LIMIT_CLIENT",
        "RESET_LIMIT_ACCOUNT", "RESET_LIMIT_CLIENT",
    ):
        os.environ[limit] = GENEROUS_LIMIT  # rate limit tests lower them explicitly


_configure_test_environment()

from alembic import command  # noqa: E402 - the settings above must be in place first
from alembic.config import Config  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from asgi_lifespan import LifespanManager  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

import api.models  # noqa: E402, F401 - every table on Base.metadata
from api.accounts.passwords import configure_hasher  # noqa: E402
from api.core.database import Base, get_engine  # noqa: E402
from api.core.redis import get_redis  # noqa: E402
from api.core.settings import PROJECT_ROOT, get_settings  # noqa: E402

# Cheap argon2id parameters keep the suite fast; the rehash test swaps them on purpose.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def _create_database_if_missing() -> None:
    import asyncpg

    settings = get_settings()
    connection = await asyncpg.connect(
        host=settings.db_host, port=settings.db_port, user=settings.db_user,
        password=settings.db_pass or None, database="postgres",
    )
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", settings.db_name
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{settings.db_name}"')
    finally:
        await connection.close()


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(scope="session", autouse=True)
async def migrated_database() -> AsyncIterator[None]:
    """A test database rebuilt from the migrations once per run."""
    await _create_database_if_missing()
    async with get_engine().begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await get_engine().dispose()

    await asyncio.to_thread(command.upgrade, alembic_config(), "head")
    yield

    await get_redis().aclose()
    await get_engine().dispose()


@pytest.fixture(autouse=True)
async def clean_state(migrated_database: None) -> AsyncIterator[None]:
    """Empty tables and Redis database, default settings and the cheap hasher."""
    get_settings.cache_clear()
    configure_hasher(TEST_HASHER)

    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with get_engine().begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await get_redis().flushdb()
    yield

    get_settings.cache_clear()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`configure(SMTP="1", LOGIN_LIMIT_ACCOUNT="2/minute")`: settings for this test only."""

    def apply(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def mail_on(configure: Callable[..., None]) -> None:
    configure(SMTP="1")


@pytest.fixture
async def app() -> FastAPI:
    from api.main import create_app

    return create_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app), base_url="http://testserver"
        ) as http,
    ):
        yield http
