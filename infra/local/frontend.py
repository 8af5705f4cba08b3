"""Install and build the React SPA in `frontend/` when it exists and npm is available.

Both steps are skipped when nothing changed: `npm ci` when the lock file's hash matches the
one recorded after the last install, `npm run build` when no source file changed since the
last build (by path, size and modification time).
"""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from infra.local.processes import say

SKIPPED_DIRS = frozenset({"node_modules", "dist", "test-results", "playwright-report", ".vite"})


class FrontendError(RuntimeError):
    """The SPA could not be installed or built; the message says what to do next."""


class Frontend:
    def __init__(self, root: Path, state_dir: Path) -> None:
        self.root = root / "frontend"
        self.state_dir = state_dir
        self.dist = self.root / "dist"

    @property
    def exists(self) -> bool:
        return (self.root / "package.json").exists()

    @property
    def npm(self) -> str | None:
        return shutil.which("npm")

    def scripts(self) -> dict[str, str]:
        package = json.loads((self.root / "package.json").read_text())
        return dict(package.get("scripts", {}))

    def install(self, env: dict[str, str]) -> None:
        lock = self.root / "package-lock.json"
        source = lock if lock.exists() else self.root / "package.json"
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        stamp = self.root / "node_modules" / ".effi-install-stamp"
        if stamp.exists() and stamp.read_text() == digest:
            return
        command = ["ci"] if lock.exists() else ["install"]
        self._npm([*command, "--no-audit", "--no-fund"], env, "install the SPA's packages")
        stamp.write_text(digest)

    def build(self, env: dict[str, str]) -> Path:
        digest = self._sources_digest()
        stamp = self.state_dir / "frontend-build.stamp"
        if (self.dist / "index.html").exists() and stamp.exists() and stamp.read_text() == digest:
            say(f"SPA is up to date in {self.dist}")
            return self.dist
        self._npm(["run", "build"], env, "build the SPA")
        if not (self.dist / "index.html").exists():
            raise FrontendError(
                f"`npm run build` finished but wrote no {self.dist / 'index.html'}; "
                "check build.outDir in frontend/vite.config"
            )
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
        return self.dist

    def _npm(self, args: list[str], env: dict[str, str], purpose: str) -> None:
        npm = self.npm
        if npm is None:
            raise FrontendError(f"npm is needed to {purpose}: install Node 20 (with npm)")
        say(f"$ npm {' '.join(args)}   (in frontend/)")
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [npm, *args], cwd=self.root, env=env, stdin=subprocess.DEVNULL, check=False
        )
        if result.returncode != 0:
            raise FrontendError(
                f"`npm {' '.join(args)}` failed with code {result.returncode}; fix the error "
                "above, or set FRONTEND=0 to run without the SPA"
            )

    def _sources_digest(self) -> str:
        digest = hashlib.sha256()
        for directory, subdirs, files in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                path = Path(directory, name)
                info = path.stat()
                relative = path.relative_to(self.root)
                digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        return digest.hexdigest()
