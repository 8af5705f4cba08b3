"""The local launcher behind `bin/run` and `bin/test`.

    python -m infra.local.stack run            # API + workers + SPA on http://localhost:8000
    python -m infra.local.stack test [ARGS]    # pytest ARGS, then npm test, then the e2e suite

Postgres and Redis are the ones configured in the environment or `.env` (DB_HOST or
DATABASE_URL, REDIS_HOST or REDIS_URL), else embedded ones started here. State lives in
`.effi/`: the development database (`.effi/pg`), the development SECRET_KEY, and the mail
the development sink caught (`.effi/mail`). Test runs use a throwaway `.effi/test-<pid>/`.

Variables read by the launcher itself (all optional):
    PORT, HOST             where the API listens (8000, 127.0.0.1)
    WORKERS_MAIL, WORKERS_EMBEDDING, WORKERS_VERIFICATION   processes per worker (1 each)
    FRONTEND=0             neither build nor serve the SPA
    MAIL_SINK_HTTP_PORT    port of the mail sink's page (8025, or a free one)
    E2E=0                  `bin/test` skips the browser suite
"""

import argparse
import os
import secrets
import shutil
import signal
import sys
import time
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from infra.local.frontend import Frontend, FrontendError
from infra.local.mailsink import MailSink
from infra.local.processes import Supervisor, run_foreground, say
from infra.local.services import (
    EmbeddedPostgres,
    EmbeddedRedis,
    PostgresConfig,
    RedisConfig,
    ServiceError,
    check_redis,
    drop_database,
    ensure_database,
    free_port,
    port_is_free,
    resolve_postgres,
    resolve_redis,
)

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / ".effi"
WORKERS = ("mail", "embedding", "verification")
CHROMIUM = "/usr/bin/chromium"


class LaunchError(RuntimeError):
    """The stack cannot start; the message says what to do next."""


@dataclass
class Services:
    postgres: PostgresConfig
    redis: RedisConfig


def read_dotenv(path: Path) -> dict[str, str | None]:
    if not path.exists():
        return {}
    from dotenv import dotenv_values

    return dict(dotenv_values(path))


def is_set(name: str, environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> bool:
    return bool(environ.get(name) or dotenv.get(name))


def development_secret(state_dir: Path) -> str:
    """A random SECRET_KEY kept in `.effi/secret_key`, so sessions survive a restart."""
    path = state_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def worker_counts(environ: Mapping[str, str]) -> dict[str, int]:
    counts = {}
    for worker in WORKERS:
        variable = f"WORKERS_{worker.upper()}"
        raw = environ.get(variable, "1")
        if not raw.isdigit():
            raise LaunchError(f"{variable}={raw!r} is not a count; set it to 0, 1, 2...")
        counts[worker] = int(raw)
    return counts


def worker_entry_exists(worker: str, root: Path = ROOT) -> bool:
    """Whether `python -m workers.<worker>` has something to run (checked without importing)."""
    package = root / "workers" / worker
    return (package / "__main__.py").exists() or package.with_suffix(".py").exists()


def wait_healthy(url: str, supervisor: Supervisor, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers_ok(url):
            return True
        supervisor.poll()
        time.sleep(0.3)
    return False


def _answers_ok(url: str) -> bool:
    try:
        # S310 warns about file:// URLs; this one is the API started here, on loopback.
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def _raise_on_sigterm(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class Stack:
    """Everything one launcher run owns; `close()` stops it all, children first."""

    def __init__(self, mode: str, environ: Mapping[str, str]) -> None:
        self.mode = mode
        self.environ = dict(environ)
        self.dotenv = read_dotenv(ROOT / ".env")
        self.exit_stack = ExitStack()
        self.supervisor = Supervisor()
        self.run_dir = STATE_DIR if mode == "run" else STATE_DIR / f"test-{os.getpid()}"
        self.mail_sink: MailSink | None = None

    def close(self) -> None:
        # Children first, while the services they are connected to still answer.
        self.supervisor.stop_all()
        self.exit_stack.close()

    def start_services(self) -> Services:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.mode == "test":
            self.exit_stack.callback(shutil.rmtree, self.run_dir, ignore_errors=True)

        postgres = resolve_postgres(self.environ, self.dotenv, mode=self.mode)
        if postgres is None:
            default_name = "effi_test" if self.mode == "test" else "effi"
            database = self.environ.get("DB_NAME") or default_name
            embedded_pg = EmbeddedPostgres(self.run_dir / "pg", durable=self.mode == "run")
            say(f"starting embedded Postgres in {embedded_pg.data_dir}")
            postgres = embedded_pg.start(database)
            self.exit_stack.callback(self._stop, "Postgres", embedded_pg.stop)
        # A configured server may be shared: create what is missing, drop nothing.
        ensure_database(postgres)
        say(postgres.describe())

        redis = resolve_redis(self.environ, self.dotenv)
        if redis is None:
            embedded_redis = EmbeddedRedis(self.run_dir / "redis", durable=self.mode == "run")
            redis = embedded_redis.start()
            self.exit_stack.callback(self._stop, "Redis", embedded_redis.stop)
        else:
            check_redis(redis)
        say(redis.describe())

        return Services(postgres=postgres, redis=redis)

    def start_mail_sink(self, directory: Path) -> MailSink:
        preferred = int(self.environ.get("MAIL_SINK_HTTP_PORT") or 8025)
        sink = MailSink(directory, echo=self.mode == "run", http_port=preferred)
        sink.start()
        self.exit_stack.callback(sink.stop)
        self.mail_sink = sink
        return sink

    def base_env(self, services: Services) -> dict[str, str]:
        env = dict(self.environ)
        env.update(services.postgres.env())
        env.update(services.redis.env())
        env.setdefault("LOG_FORMAT", self.dotenv.get("LOG_FORMAT") or "console")
        env["PYTHONUNBUFFERED"] = "1"
        if self.mode == "test":
            env["ENV"] = "test"
            if not self.environ.get("SECRET_KEY"):
                env["SECRET_KEY"] = secrets.token_urlsafe(48)
        else:
            if not is_set("ENV", self.environ, self.dotenv):
                env["ENV"] = "development"
            if not is_set("SECRET_KEY", self.environ, self.dotenv):
                env["SECRET_KEY"] = development_secret(STATE_DIR)
        return env

    def mail_env(self, sink: MailSink) -> dict[str, str]:
        return {
            "SMTP": "1",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(sink.smtp_port),
            "SMTP_EMAIL": "",
            "SMTP_PASS": "",
            "MAIL_SINK_DIR": str(sink.directory),
            "MAIL_SINK_URL": sink.http_url,
        }

    def migrate(self, env: dict[str, str]) -> None:
        if not (ROOT / "alembic.ini").exists():
            say("no alembic.ini yet: skipping migrations")
            return
        code = run_foreground([sys.executable, "-m", "alembic", "upgrade", "head"], env)
        if code != 0:
            raise LaunchError(
                f"`alembic upgrade head` failed with code {code} on {env['DB_NAME']}; "
                "fix the migration error above and run again"
            )

    def start_app(self, env: dict[str, str], host: str, port: int) -> None:
        app = env.get("API_APP", "api.main:app")
        uvicorn = [sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port)]
        self.supervisor.add("api", [*uvicorn, "--no-access-log"], env)
        for worker, count in worker_counts(self.environ).items():
            module = f"workers.{worker}"
            if count and not worker_entry_exists(worker):
                say(f"{module} does not exist yet: not started")
                continue
            for index in range(1, count + 1):
                name = f"{worker}-{index}" if count > 1 else worker
                self.supervisor.add(name, [sys.executable, "-m", module], env)

    def build_frontend(self, env: dict[str, str]) -> Path | None:
        frontend = Frontend(ROOT, STATE_DIR)
        if env.get("FRONTEND") == "0" or not frontend.exists:
            return None
        if frontend.npm is None:
            say("npm not found: the SPA is not built; install Node 20 to get it (API only now)")
            return None
        frontend.install(env)
        return frontend.build(env)

    @staticmethod
    def _stop(what: str, stop: object) -> None:
        say(f"stopping embedded {what}")
        assert callable(stop)
        stop()


def command_run(environ: Mapping[str, str]) -> int:
    stack = Stack("run", environ)
    try:
        services = stack.start_services()
        env = stack.base_env(services)
        smtp_configured = is_set("SMTP", stack.environ, stack.dotenv)
        if not smtp_configured:
            sink = stack.start_mail_sink(STATE_DIR / "mail")
            env.update(stack.mail_env(sink))

        host = environ.get("HOST", "127.0.0.1")
        port = int(environ.get("PORT") or 8000)
        if not port_is_free(port, host):
            raise LaunchError(f"port {port} is in use: stop what listens there or set PORT=8001")
        dist = stack.build_frontend(env)
        if dist is not None:
            env["FRONTEND_DIST"] = str(dist)
        env.setdefault("FRONTEND_URL", f"http://localhost:{port}")

        stack.migrate(env)
        stack.start_app(env, host, port)
        base = f"http://localhost:{port}"
        if wait_healthy(f"http://127.0.0.1:{port}/health", stack.supervisor, timeout=60):
            _print_banner(base, dist, stack.mail_sink, env)
        else:
            say("the API did not answer /health within 60s: read its log lines above")
        while True:
            stack.supervisor.poll()
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping (Ctrl-C)")
        return 0
    finally:
        stack.close()


def _print_banner(base: str, dist: Path | None, sink: MailSink | None, env: dict[str, str]):
    lines = [
        "",
        "=" * 64,
        f"  Effi Core is up ({env['ENV']})",
        f"  app       {base}/" + ("" if dist else "   (SPA not built: API only)"),
        f"  API docs  {base}/docs",
    ]
    if sink is not None:
        lines.append(f"  mail      {sink.http_url}   (links also printed here)")
        lines.append(f"            saved as .eml and .json in {sink.directory}")
    else:
        lines.append(f"  mail      SMTP={env.get('SMTP')} from your settings")
    lines += ["  stop      Ctrl-C", "=" * 64, ""]
    print("\n".join(lines), flush=True)


def command_test(environ: Mapping[str, str], pytest_args: list[str], suites: set[str]) -> int:
    stack = Stack("test", environ)
    results: dict[str, str] = {}
    try:
        services = stack.start_services()
        env = stack.base_env(services)
        env.setdefault("SMTP", "0")

        if "pytest" in suites:
            pytest = [sys.executable, "-m", "pytest", *pytest_args]
            code = run_foreground(pytest, env, cwd=str(ROOT))
            results["pytest"] = _outcome(code, {5: "no tests collected"})

        frontend = Frontend(ROOT, STATE_DIR)
        wants_frontend = suites & {"npm", "e2e"} and environ.get("FRONTEND") != "0"
        if wants_frontend and frontend.exists:
            results.update(_frontend_suites(stack, services, env, frontend, suites))
        elif wants_frontend:
            say("no frontend/package.json: frontend suites skipped")
    except (ServiceError, LaunchError, FrontendError) as exc:
        results["setup"] = f"failed: {exc}"
        say(f"error: {exc}")
    except KeyboardInterrupt:
        results["interrupted"] = "failed: Ctrl-C"
    finally:
        stack.close()

    failed = [name for name, outcome in results.items() if outcome != "passed"]
    summary = ", ".join(f"{name} {outcome}" for name, outcome in results.items()) or "nothing ran"
    print(f"\n[stack] summary: {summary} -> {'FAILED' if failed else 'OK'}", flush=True)
    return 1 if failed or not results else 0


def _outcome(code: int, meanings: dict[int, str] | None = None) -> str:
    if code == 0:
        return "passed"
    return f"failed ({(meanings or {}).get(code, f'exit code {code}')})"


def _frontend_suites(
    stack: Stack, services: Services, env: dict[str, str], frontend: Frontend, suites: set[str]
) -> dict[str, str]:
    results: dict[str, str] = {}
    if frontend.npm is None:
        return {"frontend": "failed (npm not found: install Node 20)"}
    npm_env = {**env, "CI": "true"}
    frontend.install(npm_env)
    scripts = frontend.scripts()

    if "npm" in suites and "test" in scripts:
        code = run_foreground([frontend.npm, "test"], npm_env, cwd=str(frontend.root))
        results["npm test"] = _outcome(code)

    if "e2e" not in suites or env.get("E2E") == "0":
        return results
    if "test:e2e" not in scripts:
        say("frontend/package.json has no test:e2e script: e2e skipped")
        return results
    chromium = env.get("CHROMIUM_PATH", CHROMIUM)
    if not Path(chromium).exists():
        results["e2e"] = "failed (no Chromium: `apt-get install -y chromium`, or E2E=0)"
        return results
    results["e2e"] = _run_e2e(stack, services, npm_env, frontend, chromium)
    return results


def _run_e2e(
    stack: Stack, services: Services, env: dict[str, str], frontend: Frontend, chromium: str
) -> str:
    """Start API + workers + SPA against their own database and a mail sink, run the suite."""
    dist = frontend.build(env)
    # Its own database, named for this run, so parallel runs on one server stay apart.
    e2e_name = f"{services.postgres.database}_e2e_{os.getpid()}"
    e2e_db = replace(services.postgres, database=e2e_name, url=None)
    ensure_database(e2e_db, recreate=True)
    stack.exit_stack.callback(drop_database, e2e_db)
    sink = stack.start_mail_sink(stack.run_dir / "mail")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    e2e_env = {**env, **e2e_db.env(), **stack.mail_env(sink)}
    e2e_env.pop("DATABASE_URL", None)
    # Redis database 1 keeps the browser run's streams apart from pytest's in database 0.
    e2e_env["REDIS_URL"] = f"redis://{services.redis.host}:{services.redis.port}/1"
    e2e_env.update(FRONTEND_DIST=str(dist), FRONTEND_URL=base, E2E_BASE_URL=base)
    e2e_env["CHROMIUM_PATH"] = chromium
    stack.migrate(e2e_env)
    stack.start_app(e2e_env, "127.0.0.1", port)
    if not wait_healthy(f"{base}/health", stack.supervisor, timeout=90):
        return "failed (the e2e stack's API did not answer /health in 90s; see its log)"
    assert frontend.npm is not None
    code = run_foreground([frontend.npm, "run", "test:e2e"], e2e_env, cwd=str(frontend.root))
    stack.supervisor.stop_all()
    return _outcome(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="API + workers + SPA with embedded services as needed")
    test = commands.add_parser("test", help="pytest [ARGS], npm test, e2e; ARGS go to pytest")
    test.add_argument(
        "--suite",
        action="append",
        choices=["pytest", "npm", "e2e"],
        help="run only this suite (repeatable); default: all three",
    )
    args, extra = parser.parse_known_args(argv)
    if args.command == "run" and extra:
        parser.error(f"`run` takes no arguments, got {extra}")

    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGHUP, _raise_on_sigterm)
    try:
        if args.command == "run":
            return command_run(os.environ)
        suites = set(args.suite or ["pytest", "npm", "e2e"])
        return command_test(os.environ, extra, suites)
    except (ServiceError, LaunchError, FrontendError) as exc:
        say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
