"""POST /api/messages: strict parsing, authentication and the invoke-body fix, in one place."""

from __future__ import annotations

import json
import logging

import jwt
from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from msrest.exceptions import DeserializationError

from ..config import Settings
from ..logs import bound
from ..telemetry import span

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def invoke_body(body: object) -> object:
    """The JSON form of an invoke response body.

    botbuilder-integration-aiohttp 4.17.1 serializes the body a second time after
    ActivityHandler already made it a dict, which fails on every invoke with a body
    (Action.Execute, expectReplies). Dicts and lists pass through untouched here.
    """
    if body is None or isinstance(body, (dict, list, str, int, float, bool)):
        return body
    return serializer_helper(body)


def tenant_of(activity: Activity) -> str:
    """The tenant an activity comes from, lower-cased; empty when it names none."""
    tenant = activity.conversation.tenant_id if activity.conversation else None
    if not tenant and isinstance(activity.channel_data, dict):
        tenant = (activity.channel_data.get("tenant") or {}).get("id")
    return (tenant or "").lower()


def _parse(raw: bytes) -> Activity | web.Response:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object (an activity)")
    try:
        activity = Activity().deserialize(body)
    except (DeserializationError, TypeError, ValueError, AttributeError):
        return _error(400, "the body is not a valid activity")
    missing = [
        name
        for name, value in (
            ("type", activity.type),
            ("serviceUrl", activity.service_url),
            ("conversation.id", activity.conversation and activity.conversation.id),
            ("from", activity.from_property),
        )
        if not value
    ]
    if missing:
        return _error(400, f"the activity lacks {', '.join(missing)}")
    if not activity.service_url.startswith(("https://", "http://")):
        return _error(400, "serviceUrl must be an http(s) URL")
    return activity


def messages_handler(settings: Settings, adapter: CloudAdapter, bot: Bot):
    """The aiohttp handler for the Bot Framework messaging endpoint."""

    async def handle(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _error(415, "Content-Type must be application/json")
        too_large = _error(413, f"the body is larger than {settings.max_body_bytes} bytes")
        if request.content_length is not None and request.content_length > settings.max_body_bytes:
            return too_large
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return too_large
        if len(raw) > settings.max_body_bytes:
            return too_large
        parsed = _parse(raw)
        if isinstance(parsed, web.Response):
            return parsed
        activity = parsed
        auth_header = request.headers.get("Authorization", "").strip()
        if settings.authenticated and not auth_header.lower().startswith("bearer "):
            return _error(401, "a Bot Framework bearer token is required")
        if settings.allowed_tenant_ids and tenant_of(activity) not in settings.allowed_tenant_ids:
            # Refused without a reply: the bot must not talk to other organisations.
            log.warning("refused an activity from tenant %r", tenant_of(activity) or "(none)")
            return _error(403, "this bot does not serve your tenant")
        try:
            with bound(activity_id=activity.id, conversation_id=activity.conversation.id, activity_type=activity.type), \
                    span("teams.activity", activity_type=activity.type or "", activity_id=activity.id or ""):
                response = await adapter.process_activity(auth_header, activity, bot.on_turn)
        except (PermissionError, jwt.PyJWTError) as err:
            log.info("refused a request: %s", type(err).__name__)
            return _error(401, "the token is missing, invalid, expired or not for this bot")
        except Exception as err:  # noqa: BLE001 - turn errors are handled in on_turn_error; this is authentication
            if settings.authenticated:
                log.warning("token validation failed: %s", type(err).__name__)
                return _error(401, "the token could not be validated")
            raise
        if response is None:
            return web.Response(status=201 if activity.type != ActivityTypes.invoke else 200)
        return web.json_response(invoke_body(response.body), status=response.status)

    return handle


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Log the error with its activity id and tell the user briefly; never a traceback in chat."""
    activity = turn_context.activity
    log.error("turn failed for activity %s (%s)", activity.id, activity.type, exc_info=error)
    apology = "Sorry, something went wrong on my side. Nothing was lost; please try again in a minute."
    try:
        if activity.type == ActivityTypes.message:
            await turn_context.send_activity(apology)
        elif activity.type == ActivityTypes.invoke:
            body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": apology}
            await turn_context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
            )
    except Exception:  # noqa: BLE001 - the connector may be what failed
        log.warning("could not send the apology", exc_info=True)
