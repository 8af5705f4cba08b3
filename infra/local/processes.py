"""Start the API and the workers as child processes, prefix their output, restart the dead.

Each child runs in its own session, so Ctrl-C reaches only the launcher, which then stops
the children in order (API and workers first, then the services they use). Each child also
gets SIGTERM from the kernel if the launcher itself is killed, so nothing is left behind.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from infra.local.services import die_with_parent, stop_process

RESTART_BACKOFF_MAX_S = 30.0
HEALTHY_UPTIME_S = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    restart: bool = True
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    pump: threading.Thread | None = field(default=None, repr=False)


def say(message: str) -> None:
    """One launcher line on the console, marked so it stands out from the children's logs."""
    print(f"[stack] {message}", flush=True)


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.width = 8

    def add(self, name: str, argv: list[str], env: dict[str, str], restart: bool = True) -> Child:
        child = Child(name=name, argv=argv, env=env, restart=restart)
        self.children.append(child)
        self.width = max(self.width, len(name))
        self._spawn(child)
        return child

    def poll(self) -> None:
        """Restart children that died, after a backoff that grows with repeated failures."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if child.restart_at is not None and now >= child.restart_at:
                    child.restart_at = None
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            child.process = None
            if not child.restart:
                say(f"{child.name} exited with code {code}")
                continue
            uptime = now - child.started_at
            child.failures = 1 if uptime > HEALTHY_UPTIME_S else child.failures + 1
            delay = min(RESTART_BACKOFF_MAX_S, 2.0 ** (child.failures - 1))
            child.restart_at = now + delay
            say(
                f"{child.name} exited with code {code} after {uptime:.0f}s; "
                f"restarting in {delay:.0f}s (failure {child.failures} in a row)"
            )

    def stop_all(self, timeout: float = 15) -> None:
        running = [c for c in self.children if c.process is not None]
        for child in running:
            assert child.process is not None
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{child.name} ignored SIGTERM for {timeout:.0f}s; killing it")
                stop_process(child.process, signal.SIGKILL, timeout=5)
            child.process = None
        for child in running:
            if child.pump is not None:
                child.pump.join(timeout=2)
        self.children.clear()

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - argv built by the launcher
            child.argv,
            env=child.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        child.started_at = time.monotonic()
        assert child.process.stdout is not None
        prefix = f"{child.name:<{self.width}} | "
        child.pump = threading.Thread(
            target=_pump, args=(child.process.stdout, prefix), daemon=True, name=child.name
        )
        child.pump.start()


def _pump(stream: IO[bytes], prefix: str) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()
    stream.close()


def run_foreground(argv: list[str], env: dict[str, str], cwd: str | None = None) -> int:
    """Run a suite attached to the terminal; Ctrl-C reaches it directly. Returns its code."""
    say("$ " + " ".join(argv))
    process = subprocess.Popen(  # noqa: S603 - argv built by the launcher
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent(signal.SIGTERM),
    )
    try:
        return process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
