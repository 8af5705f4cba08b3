"""A development mail sink: an SMTP server that delivers nothing and keeps everything.

Each message is stored twice in the sink directory: `<id>.eml` (the raw message) and
`<id>.json` (to, from, subject, text, html, links, received_at). The JSON file is written
last, by rename, so a reader that waits for `*.json` never sees half a message. The links
found in a message are printed to the console, so a person can confirm an account or reset
a password by clicking them. A small web page lists the same messages:

- `GET /` an HTML list, newest first, with clickable links;
- `GET /messages.json` the JSON records, newest first;
- `DELETE /messages` forgets every stored message (for tests that want a clean inbox).

This is for development and tests only; it accepts any login and never relays mail.
"""

import contextlib
import html
import itertools
import json
import re
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.local.services import free_port

LINK_PATTERN = re.compile(r"https?://[^\s\"'<>]+")


class MailSink:
    def __init__(self, directory: Path, *, echo: bool = True, http_port: int | None = None):
        self.directory = directory
        self.echo = echo
        self.preferred_http_port = http_port
        self.smtp_port = 0
        self.http_port = 0
        self._controller: Any = None
        self._http: ThreadingHTTPServer | None = None
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def start(self) -> None:
        try:
            from aiosmtpd.controller import Controller
            from aiosmtpd.smtp import AuthResult
        except ImportError as exc:
            raise RuntimeError(
                "the development mail sink needs aiosmtpd: run `pip install -e '.[dev]'`, "
                "or set SMTP=0 (accounts confirm themselves) or SMTP=1 with SMTP_HOST"
            ) from exc

        self.directory.mkdir(parents=True, exist_ok=True)
        self.smtp_port = free_port()
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.smtp_port,
            # Accept whatever login the mail worker offers: nothing leaves this machine.
            auth_require_tls=False,
            authenticator=lambda *_: AuthResult(success=True),
        )
        self._controller.start()

        self.http_port = free_port(preferred=self.preferred_http_port)
        self._http = ThreadingHTTPServer(("127.0.0.1", self.http_port), _page_handler(self))
        threading.Thread(target=self._http.serve_forever, daemon=True, name="mail-page").start()

    def stop(self) -> None:
        if self._controller is not None:
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def store(self, raw: bytes, mail_from: str, recipients: list[str]) -> dict[str, Any]:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text, html_body = _bodies(message)
        links = list(dict.fromkeys(LINK_PATTERN.findall(text or "") + _html_links(html_body)))
        received_at = datetime.now(UTC)
        with self._lock:
            message_id = f"{received_at:%Y%m%dT%H%M%S%f}-{next(self._sequence):04d}"
        record = {
            "id": message_id,
            "received_at": received_at.isoformat(),
            "from": str(message.get("From", mail_from)),
            "to": recipients,
            "subject": str(message.get("Subject", "")),
            "text": text,
            "html": html_body,
            "links": links,
            "eml": str(self.directory / f"{message_id}.eml"),
        }
        (self.directory / f"{message_id}.eml").write_bytes(raw)
        partial = self.directory / f".{message_id}.json.part"
        partial.write_text(json.dumps(record, indent=2))
        partial.rename(self.directory / f"{message_id}.json")
        if self.echo:
            self._print(record)
        return record

    def messages(self) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.directory.glob("*.json"), reverse=True):
            with contextlib.suppress(OSError, ValueError):
                records.append(json.loads(path.read_text()))
        return records

    def clear(self) -> None:
        for path in [*self.directory.glob("*.json"), *self.directory.glob("*.eml")]:
            path.unlink(missing_ok=True)

    def _print(self, record: dict[str, Any]) -> None:
        lines = [
            "",
            f"[mail] to {', '.join(record['to'])}: {record['subject']!r}",
            *(f"[mail]   {link}" for link in record["links"]),
            f"[mail]   saved as {record['eml']}",
            "",
        ]
        print("\n".join(lines), flush=True)


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode()
        self.sink.store(raw, envelope.mail_from, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _bodies(message: EmailMessage) -> tuple[str, str]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html_body = html_part.get_content() if html_part is not None else ""
    return text, html_body


def _html_links(html_body: str) -> list[str]:
    return [html.unescape(link) for link in re.findall(r'href="(https?://[^"]+)"', html_body)]


def _page_handler(sink: MailSink) -> type[BaseHTTPRequestHandler]:
    class MailPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/messages.json"):
                self._send(200, "application/json", json.dumps(sink.messages()).encode())
            elif self.path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", _render(sink.messages()).encode())
            else:
                self._send(404, "text/plain", b"not found")

        def do_DELETE(self) -> None:
            if self.path.startswith("/messages"):
                sink.clear()
                self._send(204, "text/plain", b"")
            else:
                self._send(404, "text/plain", b"not found")

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the console for the stack's own lines."""

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return MailPage


def _render(records: list[dict[str, Any]]) -> str:
    items = []
    for record in records:
        links = "".join(
            f'<li><a href="{html.escape(link)}">{html.escape(link)}</a></li>'
            for link in record["links"]
        )
        items.append(
            "<article>"
            f"<h2>{html.escape(record['subject'])}</h2>"
            f"<p>to {html.escape(', '.join(record['to']))} at "
            f"{html.escape(record['received_at'])}</p>"
            f"<ul>{links}</ul>"
            f"<pre>{html.escape(record['text'])}</pre>"
            "</article>"
        )
    body = "".join(items) or "<p>No mail yet. Register an account and reload this page.</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='5'><title>Effi mail sink</title>"
        "<style>body{font-family:sans-serif;max-width:50rem;margin:2rem auto}"
        "article{border-bottom:1px solid #ccc;padding:1rem 0}pre{white-space:pre-wrap}</style>"
        f"</head><body><h1>Effi development mail</h1>{body}</body></html>"
    )


def wait_for_mail(directory: Path, recipient: str, timeout: float = 30) -> dict[str, Any]:
    """The newest message to `recipient` in a sink directory, waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.json"), reverse=True):
            record = json.loads(path.read_text())
            if recipient in record["to"]:
                return record
        time.sleep(0.2)
    raise TimeoutError(f"no mail to {recipient} arrived in {directory} within {timeout:.0f}s")
