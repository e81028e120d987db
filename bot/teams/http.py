"""POST /api/messages: authentication first, then strict parsing, and the invoke-body fix, in one place."""

from __future__ import annotations

import logging

import jwt
from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
)
from msrest.exceptions import DeserializationError

from ..config import Settings
from ..domain.errors import DeliveryFailed
from ..domain.jobs import RetryLater
from ..logs import bound
from ..telemetry import span
from ..web import safejson
from .sending import with_retries

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
        body = safejson.parse(raw)
    except safejson.JsonRefused as err:
        return _error(400, str(err))
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object (an activity)")
    try:
        activity = Activity().deserialize(body)
    except (DeserializationError, TypeError, ValueError, AttributeError, OverflowError):
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
    if not isinstance(activity.service_url, str) or not activity.service_url.startswith(("https://", "http://")):
        return _error(400, "serviceUrl must be an http(s) URL")
    return activity


# Stands in for the activity while the token is checked before the body is parsed. Teams is the only channel
# served, so keys must be endorsed for it; the serviceurl claim is compared once the activity is read.
TEAMS_CHANNEL = "msteams"
_TEAMS_ONLY = Activity(channel_id=TEAMS_CHANNEL)


async def _authenticate(authentication: BotFrameworkAuthentication, settings: Settings,
                        header: str) -> AuthenticateRequestResult | None:
    """The token's verdict, checked before the body is read as JSON; None when it is refused."""
    if settings.authenticated and not header.lower().startswith("bearer "):
        return None
    try:
        # botbuilder checks the serviceurl claim only when given a serviceUrl; here it is given none.
        return await authentication.authenticate_request(_TEAMS_ONLY, header or None)
    except (PermissionError, jwt.PyJWTError) as err:
        log.info("refused a request: %s", type(err).__name__)
    except Exception as err:  # noqa: BLE001 - botbuilder raises bare Exceptions for endorsements and algorithms
        log.warning("token validation failed: %s: %s", type(err).__name__, str(err)[:200])
    return None


def _service_url_matches(result: AuthenticateRequestResult, settings: Settings, activity: Activity) -> bool:
    """A channel token is only good for the serviceUrl it names (the check botbuilder skipped above)."""
    if not settings.authenticated:
        return True
    claim = result.claims_identity.get_claim_value(AuthenticationConstants.SERVICE_URL_CLAIM)
    return bool(claim) and claim == activity.service_url


def messages_handler(settings: Settings, adapter: CloudAdapter, bot: Bot):
    """The aiohttp handler for the Bot Framework messaging endpoint.

    Answers, in this order: 415 wrong content type, 413 too large, 401 bad or missing token, 400 not an
    activity, 401 token for another serviceUrl, 403 not from Teams, 403 tenant not allowed. The token is
    checked before the body is parsed, and the tenant after it, so a caller without a token learns nothing.
    """
    unauthorized = "the token is missing, invalid, expired or not for this bot"

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
        auth_header = request.headers.get("Authorization", "").strip()
        authenticated = await _authenticate(adapter.bot_framework_authentication, settings, auth_header)
        if authenticated is None:
            return _error(401, unauthorized)
        parsed = _parse(raw)
        if isinstance(parsed, web.Response):
            return parsed
        activity = parsed
        if not _service_url_matches(authenticated, settings, activity):
            log.info("refused a request: the token names another serviceUrl")
            return _error(401, unauthorized)
        if activity.channel_id != TEAMS_CHANNEL:
            log.warning("refused an activity from channel %r", str(activity.channel_id)[:40])
            return _error(403, "this bot serves Microsoft Teams only")
        if settings.allowed_tenant_ids and tenant_of(activity) not in settings.allowed_tenant_ids:
            # Refused without a reply: the bot must not talk to other organisations.
            log.warning("refused an activity from tenant %r", tenant_of(activity) or "(none)")
            return _error(403, "this bot does not serve your tenant")
        with bound(activity_id=activity.id, conversation_id=activity.conversation.id, activity_type=activity.type), \
                span("teams.activity", activity_type=activity.type or "", activity_id=activity.id or ""):
            # The verdict itself, not the header: the signature is checked once.
            response = await adapter.process_activity(authenticated, activity, bot.on_turn)
        if response is None:
            return web.Response(status=201 if activity.type != ActivityTypes.invoke else 200)
        return web.json_response(invoke_body(response.body), status=response.status)

    return handle


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Log the error with its activity id and tell the user briefly; never a traceback in chat.

    Teams refusing or not taking a message is expected: one warning line, and no apology, which would take the
    same way. Anything else is a bug and is logged with its traceback.
    """
    activity = turn_context.activity
    if isinstance(error, (DeliveryFailed, RetryLater)):
        log.warning("turn for activity %s (%s) could not answer: %s", activity.id, activity.type, error)
        return
    log.error("turn failed for activity %s (%s)", activity.id, activity.type, exc_info=error)
    apology = "Sorry, something went wrong on my side. Nothing was lost; please try again in a minute."
    try:
        if activity.type == ActivityTypes.message:
            await with_retries(lambda: turn_context.send_activity(apology), "apologising")
        elif activity.type == ActivityTypes.invoke:
            body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": apology}
            await turn_context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
            )
    except (DeliveryFailed, RetryLater) as err:
        log.warning("could not send the apology: %s", err)
    except Exception:  # noqa: BLE001 - whatever broke the turn may break the apology too; never a 500 for it
        log.warning("could not send the apology", exc_info=True)
