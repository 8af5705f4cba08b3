"""Request id for every request, bound into the log context and echoed in a header.

An exception no handler turned into a response becomes a JSON 500 naming the request id,
logged here with its traceback, so that it never reaches the server's plain-text log.
"""

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.errors import error_response

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Path segments that carry a link token from a mail, on the API's and the app's routes,
# matched loosely (any case, repeated slashes) since a mistyped path is logged too; and any
# JWT-shaped segment, wherever it stands.
_TOKEN_ROUTE = re.compile(
    r"(?i)(confirm-email|reset-password|confirm/+email|email_confirmed)(/+)[^/]+"
)
_JWT_SEGMENT = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def loggable_path(scope: Scope) -> str:
    """The request path with secret path parameters (confirm and reset link tokens) masked.

    The router fills `path_params` in the shared scope, so this is known after the call.
    """
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        if "token" in name.lower() and isinstance(value, str) and value:
            path = path.replace(value, "***")
    path = _TOKEN_ROUTE.sub(r"\1\2***", path)
    return _JWT_SEGMENT.sub("***", path)


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
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                status_code = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"].append((REQUEST_ID_HEADER.encode(), request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("http.request.failed", method=scope["method"], path=loggable_path(scope))
            if response_started:
                raise
            detail = (
                "Something went wrong on our side; retry, and if it keeps failing give the"
                f" operator this request id: {request_id}."
            )
            await error_response(500, "internal_error", detail)(scope, receive, send_with_id)
        finally:
            log.info(
                "http.request.completed",
                method=scope["method"],
                path=loggable_path(scope),
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
