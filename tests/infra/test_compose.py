"""Static checks of the Docker deployment: compose file, nginx template, Dockerfiles.

Compose cannot run on the CI machine, so the file is checked three ways: its structure
here in Python, `docker-compose config` (Debian's docker-compose 1.29) and the Compose
Specification's JSON schema (`check-jsonschema`). The nginx template is rendered and
checked with `nginx -t`, then served for real in front of a stub API.
Each external tool's test skips, saying how to install it, when the tool is missing.
"""

# S603/S310: these tests run fixed local tools and open loopback URLs they built themselves.
# ruff: noqa: S603, S310

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

INFRA = Path(__file__).resolve().parents[2] / "infra"
COMPOSE = INFRA / "compose.yaml"
NGINX_TEMPLATE = INFRA / "nginx.conf"

SETTINGS_CONTRACT = {
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASS",
    "DB_NAME",
    "REDIS_HOST",
    "REDIS_PORT",
    "SECRET_KEY",
    "HASH",
    "SMTP",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_EMAIL",
    "SMTP_PASS",
    "DEVICE",
    "MAX_FILE_SIZE_MB",
    "IMG_SIZE",
    "MODEL_WEIGHTS_PATH",
    "EMBED_DIM",
    "ENV",
    "FRONTEND_URL",
    "LOG_FORMAT",
}
APP_SERVICES = {"migrate", "api", "mail-worker", "embedding-worker", "verification-worker"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    expected = {"postgres", "redis", "frontend", *APP_SERVICES}
    assert set(compose["services"]) == expected


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "api", "frontend"):
        assert "healthcheck" in compose["services"][name], name


def test_app_services_share_one_image_and_the_settings_contract(compose: dict[str, Any]) -> None:
    images = {compose["services"][name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert set(environment) >= SETTINGS_CONTRACT, SETTINGS_CONTRACT - set(environment)
        assert environment["ENV"] == "production"
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_app_waits_for_migrations(compose: dict[str, Any]) -> None:
    depends = compose["services"]["api"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert compose["services"]["migrate"]["command"] == ["alembic", "upgrade", "head"]


def test_embedding_worker_can_scale(compose: dict[str, Any]) -> None:
    worker = compose["services"]["embedding-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker


def test_nginx_template_routes() -> None:
    conf = NGINX_TEMPLATE.read_text()
    for location in ("/auth/", "/face/", "/docs", "= /openapi.json", "= /health"):
        assert re.search(rf"location {re.escape(location)} {{\s*proxy_pass \$api;", conf)
    sse = re.search(r"location = /face/events \{(.*?)\n    \}", conf, re.S)
    assert sse is not None
    for directive in (
        "proxy_buffering off",
        "proxy_cache off",
        "proxy_read_timeout 1h",
        "proxy_set_header Connection ''",
        "X-Forwarded-For",
    ):
        assert directive in sse.group(1)
    assert "try_files $uri /index.html" in conf
    assert "client_max_body_size ${MAX_FILE_SIZE_MB}m" in conf


# --- docker-compose config ------------------------------------------------------------


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.skip("docker-compose is not installed: apt-get install -y docker-compose")
    return path


def test_docker_compose_config_accepts_the_file() -> None:
    env = {**os.environ, "SECRET_KEY": "a-long-random-value-for-the-check"}
    result = subprocess.run(
        [_docker_compose(), "-f", str(COMPOSE), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_a_missing_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [_docker_compose(), "-f", str(COMPOSE), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_compose_file_matches_the_compose_specification() -> None:
    beside_python = Path(sys.executable).parent / "check-jsonschema"
    tool = str(beside_python) if beside_python.exists() else shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed: pip install check-jsonschema")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- nginx ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _StubApi(BaseHTTPRequestHandler):
    """Answers like the API would, echoing what nginx forwarded."""

    def do_GET(self) -> None:
        if self.path.startswith("/face/events"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: first\n\n")
            self.wfile.flush()
            time.sleep(1.5)
            self.wfile.write(b"data: second\n\n")
            return
        body = json.dumps(
            {
                "path": self.path,
                "x_forwarded_for": self.headers.get("X-Forwarded-For"),
                "connection": self.headers.get("Connection"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access lines."""


def render_template(template: str, values: dict[str, str]) -> str:
    """What the nginx image's envsubst step does: replace ${NAME} for the given names."""
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    return template


@pytest.fixture(scope="module")
def nginx_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed: apt-get install -y nginx-light")
    prefix = tmp_path_factory.mktemp("nginx")
    html = prefix / "html"
    (html / "assets").mkdir(parents=True)
    (html / "index.html").write_text("<!doctype html><title>spa</title>")
    (html / "assets" / "app-abc123.js").write_text("console.log('spa')")

    api = ThreadingHTTPServer(("127.0.0.1", 0), _StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port = _free_port()
    site = render_template(
        NGINX_TEMPLATE.read_text(),
        {
            "API_UPSTREAM": f"127.0.0.1:{api.server_address[1]}",
            "MAX_FILE_SIZE_MB": "1",
            "NGINX_LOCAL_RESOLVERS": "127.0.0.1",
        },
    )
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("root /usr/share/nginx/html;", f"root {html};")
    (prefix / "site.conf").write_text(site)
    mime_types = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    (prefix / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    {mime_types}
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""")
    command = [
        nginx,
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        str(prefix / "error.log"),
    ]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr

    server = subprocess.Popen(command, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(10)
        api.shutdown()


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_nginx_serves_the_spa_with_history_fallback(nginx_site: str) -> None:
    status, headers, body = _get(f"{nginx_site}/reset/some-token")
    assert status == 200
    assert b"<title>spa</title>" in body
    assert headers["Cache-Control"] == "no-cache"
    status, headers, _ = _get(f"{nginx_site}/assets/app-abc123.js")
    assert status == 200
    assert "immutable" in headers["Cache-Control"]


@pytest.mark.parametrize(
    "path", ["/auth/login", "/face/jobs/1", "/docs", "/openapi.json", "/health"]
)
def test_nginx_proxies_the_api(nginx_site: str, path: str) -> None:
    status, _, body = _get(f"{nginx_site}{path}", **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
    forwarded = json.loads(body)
    assert forwarded["path"] == path
    assert forwarded["x_forwarded_for"] == "203.0.113.9, 127.0.0.1"


def test_nginx_streams_events_without_buffering(nginx_site: str) -> None:
    started = time.monotonic()
    with urllib.request.urlopen(f"{nginx_site}/face/events", timeout=5) as response:
        first = response.readline()
        first_after = time.monotonic() - started
    assert first == b"data: first\n"
    assert first_after < 1.0, "the first event waited for the second: nginx buffered it"


def test_nginx_answers_oversized_uploads_in_the_api_error_shape(nginx_site: str) -> None:
    request = urllib.request.Request(
        f"{nginx_site}/face/enrolment", data=b"x" * (2 * 1024 * 1024), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 413
    assert json.loads(raised.value.read())["error"] == "file_too_large"
