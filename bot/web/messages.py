"""POST /api/messages, the SDK-free half: reading, authenticating first, parsing, refusing, in one order for both
Teams adapters. An adapter supplies how its SDK checks a token and runs a turn; the promises are kept here.

Answers, in this order: 415 wrong content type, 413 too large, 401 bad or missing token, 400 not an activity,
401 token for another serviceUrl, 403 not from Teams, 403 tenant not allowed. The token is checked before the
body is parsed, and the tenant after the token, so a caller without a token learns nothing.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Protocol

from aiohttp import web

from ..config import Settings
from ..logs import bound
from ..telemetry import span
from . import safejson
from .activities import tenant_of

log = logging.getLogger(__name__)
TEAMS_CHANNEL = "msteams"
UNAUTHORIZED = "the token is missing, invalid, expired or not for this bot"


def error(status: int, message: str) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": message}, status=status)


def parse_activity(raw: bytes) -> dict | web.Response:
    """The activity as JSON, parsed with limits; 400 for anything that isn't one."""
    try:
        body = safejson.parse(raw)
    except safejson.JsonRefused as err:
        return error(400, str(err))
    if not isinstance(body, dict):
        return error(400, "the body must be a JSON object (an activity)")
    conversation = body.get("conversation")
    missing = [name for name, value in (
        ("type", body.get("type")), ("serviceUrl", body.get("serviceUrl")),
        ("conversation.id", conversation.get("id") if isinstance(conversation, dict) else None), ("from", body.get("from")),
    ) if not value]
    if missing:
        return error(400, f"the activity lacks {', '.join(missing)}")
    if not isinstance(body["type"], str) or not isinstance(conversation["id"], str) or not isinstance(body["from"], dict):
        return error(400, "the body is not a valid activity")
    if not isinstance(body["serviceUrl"], str) or not body["serviceUrl"].startswith(("https://", "http://")):
        return error(400, "serviceUrl must be an http(s) URL")
    return body


class Sdk(Protocol):
    """What an adapter's SDK does for the endpoint."""

    async def authenticate(self, header: str) -> Any | None:
        """The token's verdict from the Authorization header alone; None when refused."""

    def service_url_of(self, verdict: Any) -> str | None:
        """The serviceurl claim of an accepted token (None in local mode, where nothing is checked)."""

    async def run(self, verdict: Any, activity: dict) -> web.Response:
        """Run the turn for the activity and answer Teams (201, 200 with an invoke body, or expectReplies)."""


def messages_handler(settings: Settings, sdk: Sdk) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for the Bot Framework messaging endpoint, on any SDK."""

    async def handle(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return error(415, "Content-Type must be application/json")
        too_large = error(413, f"the body is larger than {settings.max_body_bytes} bytes")
        if request.content_length is not None and request.content_length > settings.max_body_bytes:
            return too_large
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return too_large
        if len(raw) > settings.max_body_bytes:
            return too_large
        header = request.headers.get("Authorization", "").strip()
        if settings.authenticated and not header.lower().startswith("bearer "):
            return error(401, UNAUTHORIZED)
        verdict = await sdk.authenticate(header)
        if verdict is None:
            return error(401, UNAUTHORIZED)
        activity = parse_activity(raw)
        if isinstance(activity, web.Response):
            return activity
        if settings.authenticated and sdk.service_url_of(verdict) != activity["serviceUrl"]:
            # A channel token is only good for the serviceUrl it names.
            log.info("refused a request: the token names another serviceUrl")
            return error(401, UNAUTHORIZED)
        if activity.get("channelId") != TEAMS_CHANNEL:
            log.warning("refused an activity from channel %r", str(activity.get("channelId"))[:40])
            return error(403, "this bot serves Microsoft Teams only")
        if settings.allowed_tenant_ids and tenant_of(activity) not in settings.allowed_tenant_ids:
            # Refused without a reply: the bot must not talk to other organisations.
            log.warning("refused an activity from tenant %r", tenant_of(activity) or "(none)")
            return error(403, "this bot does not serve your tenant")
        kind, activity_id = str(activity["type"]), str(activity.get("id") or "")
        with bound(activity_id=activity_id, conversation_id=activity["conversation"]["id"], activity_type=kind), \
                span("teams.activity", activity_type=kind, activity_id=activity_id):
            return await sdk.run(verdict, activity)

    return handle
