"""Bugsnag webhooks: the only module that knows Bugsnag's payload; it guards, parses and hands over alerts."""

from __future__ import annotations

import hmac
import logging
import math
from typing import Any, Awaitable, Callable

from aiohttp import web

from ..domain.alerts import Alert
from ..domain.errors import StorageUnavailable
from ..web.safejson import JsonRefused, parse

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024
_TEXT_LIMIT = 1000


def _text(value: Any, limit: int = _TEXT_LIMIT) -> str:
    return str(value)[:limit] if value is not None else ""


# Counters are shown on a card and kept in storage; beyond 2**53 JSON numbers stop being exact anyway.
MAX_COUNT = 2**53 - 1


def _count(value: Any) -> int:
    """A counter from the payload: a whole number clamped to 0..MAX_COUNT; anything unreadable counts as 0."""
    if isinstance(value, str):
        value = value.strip()
        # int() of thousands of digits is slow or refused; no real counter has more than 16.
        value = int(value) if value.isdecimal() and len(value) <= 16 else 0
    elif isinstance(value, float):
        value = int(value) if math.isfinite(value) else 0
    elif not isinstance(value, int) or isinstance(value, bool):
        value = 0
    return min(max(value, 0), MAX_COUNT)


def parse_webhook(payload: dict) -> Alert:
    """An Alert from a Bugsnag webhook body; missing parts (no `error` when rate-limited) become empty."""
    project = payload.get("project") if isinstance(payload.get("project"), dict) else {}
    trigger = payload.get("trigger") if isinstance(payload.get("trigger"), dict) else {}
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    # The stack trace is left out on purpose: it can be huge, and the card links to Bugsnag for it.
    return Alert(
        project_id=_text(project.get("id"), 100),
        project_name=_text(project.get("name"), 200),
        project_url=_text(project.get("url"), 500),
        trigger_type=_text(trigger.get("type"), 100),
        trigger_message=_text(trigger.get("message"), 300),
        error_id=_text(error.get("errorId") or error.get("id"), 100),
        exception_class=_text(error.get("exceptionClass"), 300),
        message=_text(error.get("message")),
        context=_text(error.get("context"), 300),
        release_stage=_text(error.get("releaseStage"), 50),
        app_version=_text(error.get("appVersion"), 100),
        severity=_text(error.get("severity"), 20),
        occurrences=_count(error.get("occurrences")),
        users_affected=_count(error.get("usersAffected")),
        first_received=_text(error.get("firstReceived"), 40),
        url=_text(error.get("url"), 1000),
    )


def secret_matches(given: str, expected: str) -> bool:
    """Compare the URL secret in constant time; an unset secret matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def webhook_handler(secret: str, project_ids: frozenset[str], accept: Callable[[Alert], Awaitable[None]]):
    """POST /api/bugsnag/{secret}: 404 for a wrong secret, 403 for another project, 400 for bad JSON,
    503 when the alert could not be stored, 200 once it is stored (posting happens afterwards)."""

    async def handle(request: web.Request) -> web.Response:
        if not secret_matches(request.match_info.get("secret", ""), secret):
            return web.json_response({"error": "not found"}, status=404)
        # Nothing of the body is read, let alone parsed, before the secret matched.
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "payload too large"}, status=413)
        try:
            payload = parse(raw)
        except JsonRefused as err:
            return web.json_response({"error": str(err)}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        alert = parse_webhook(payload)
        if project_ids and alert.project_id not in project_ids:
            log.warning("refused a Bugsnag webhook for project %r", alert.project_id)
            return web.json_response({"error": "this project is not accepted here"}, status=403)
        try:
            await accept(alert)
        except StorageUnavailable:
            log.warning("could not store a Bugsnag alert; Bugsnag will be told to retry")
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        return web.json_response({"status": "accepted"})

    return handle
