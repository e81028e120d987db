"""Structured JSON logs on stderr, carrying the request, activity and job ids of the work in progress."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Iterator

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("log_context", default={})


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Add fields (request_id, activity_id, conversation_id, job_id, ...) to every log line inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the bound context."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str) -> None:
    """Send every log record as JSON to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # The Azure SDK logs every HTTP request at INFO, headers included.
    logging.getLogger("azure").setLevel(logging.WARNING)
