"""Structured logs on request: ``ZOHOKIT_LOG_FORMAT=json`` writes one JSON object per line.

zohokit's loggers (``zohokit.http.calls``: one line per Zoho call; ``zohokit.tokens``: token
events; ``zohokit.server``, ...) pass their fields in ``extra``; the JSON format prints them
as keys beside ``ts``, ``level``, ``logger`` and ``message``. Plain text stays the default,
and then zohokit configures no logging at all (the application's own setup wins).

Whatever the format, nothing that leaves through a handler set up here carries a secret: the
:class:`RedactingFilter` rewrites the message, every field and the exception text, masking
Zoho access and refresh tokens, ``Authorization`` values, ``client_secret`` / ``code`` /
``token`` parameters and e-mail addresses. zohokit never logs these to begin with; the filter
is for what a library or an exception's text might echo.

Nothing is configured at import: ``zohokit serve``, ``zohokit worker`` and every CLI command
call :func:`configure_logging` with the settings; a library user may call it too::

    from zohokit.logs import configure_logging

    configure_logging("json")
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging", "redact"]

#: Zoho's token shape (``1000.<hex>.<hex>``), a header's credentials, a secret parameter in a
#: query string, a form, a JSON body or a repr, and e-mail addresses: each with what replaces it.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b1000\.[0-9a-fA-F]{16,}\.[0-9a-fA-F]{16,}\b"), "1000.***"),
    (re.compile(r"(?i)\b(Zoho-oauthtoken|Bearer|Basic)\s+[^\s\"',]+"), r"\1 ***"),
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret"
            r"|token|password|secret|api[_-]?key|x-api-key|authorization)[\"']?"
            r"\s*[:=]\s*[\"']?)(?!\*\*\*)[^\"'&\s,;)}\]]+"
        ),
        r"\1***",
    ),
    # An OAuth grant code travels as a parameter (``?code=...``); "status code: 500" stays.
    (re.compile(r"(?i)\b(code=)[^\"'&\s,;)}\]]+"), r"\1***"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "***@***"),
)

#: The attributes every ``LogRecord`` has: anything else on a record came in ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def redact(text: str) -> str:
    """``text`` with every token, secret parameter and e-mail address masked.

    >>> redact("Authorization: Zoho-oauthtoken 1000.abc")
    'Authorization: Zoho-oauthtoken ***'
    >>> redact("refresh_token=1000.x&client_id=abc")
    'refresh_token=***&client_id=abc'
    """
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


class RedactingFilter(logging.Filter):
    """Masks secrets in a record before any handler formats it: the message (arguments
    merged in), every ``extra`` field, and the exception's text (``exc_text``, which the
    formatters then print instead of formatting the exception again)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; always keep it."""
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_"):
                setattr(record, key, _clean(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, the ``extra`` fields, and ``exc`` for an exception's text."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, default=str, ensure_ascii=False)


#: Loggers that would repeat, less carefully, what ``zohokit.http.calls`` says per call
#: (httpx logs every URL at INFO).
_QUIETED = ("httpx", "httpcore")


def configure_logging(
    log_format: Literal["text", "json"] = "text",
    level: str = "INFO",
    *,
    stream: IO[str] | None = None,
) -> logging.Handler | None:
    """Apply ``ZOHOKIT_LOG_FORMAT`` / ``ZOHOKIT_LOG_LEVEL``: for ``json``, one handler on
    the root logger writing :class:`JsonFormatter` lines through a :class:`RedactingFilter`
    to ``stream`` (default stderr), at ``level``; returns it. For ``text`` nothing changes
    (``None``): the application's own logging setup, if any, stays in charge.

    Calling it again replaces the handler it installed before, never adds a second one.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"ZOHOKIT_LOG_FORMAT is text or json, not {log_format!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_zohokit", False)]:
        root.removeHandler(old)
    if log_format == "text":
        return None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._zohokit = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIETED:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
