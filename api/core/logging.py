"""structlog configuration: JSON lines in production, readable console in development.

Every log line carries the context bound through contextvars (request id, message id).
Secrets never reach a log: fields whose names suggest a credential are masked here as a
last line of defence, but callers should not pass them in the first place.
"""

import logging
import sys
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {"password", "new_password", "token", "access_token", "refresh_token", "authorization",
     "secret", "secret_key", "smtp_pass", "cookie"}
)


def _mask_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in event_dict.keys() & SENSITIVE_KEYS:
        event_dict[key] = "***"
    return event_dict


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_secrets,
    ]
    renderer: Any
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stdout, format="%(message)s")
