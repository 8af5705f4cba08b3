"""Request id for every request, bound into the log context and echoed in a header."""

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def loggable_path(scope: Scope) -> str:
    """The request path with secret path parameters (confirm and reset link tokens) masked.

    The router fills `path_params` in the shared scope, so this is known after the call.
    """
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        if "token" in name.lower() and isinstance(value, str) and value:
            path = path.replace(value, "***")
    return path


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = dict(scope.get("headers") or [])
        offered = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = offered if _SAFE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((REQUEST_ID_HEADER.encode(), request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http.request.completed",
                method=scope["method"],
                path=loggable_path(scope),
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
