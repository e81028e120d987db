"""The botbuilder 4.17.1 adapter: the SDK half of /api/messages, the turn's effects, and the proactive messenger."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable

import jwt
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import AuthenticateRequestResult, AuthenticationConstants
from msrest.exceptions import DeserializationError

from ..config import Settings
from ..core.app import SupportApp
from ..core.events import Priority, Reply, UpdateCard
from ..domain.errors import DeliveryFailed
from ..domain.jobs import RetryLater
from ..services.ports import ConversationRepository
from ..web import messages
from ..web.activities import inbound, invoke_body, outgoing, updated_card
from ..web.pacing import ConversationPacer
from .activity import to_activity
from .auth import SEND_THREADS, TeamsAuthentication, build_adapter
from .proactive import TeamsMessenger
from .sending import with_retries

log = logging.getLogger(__name__)
APOLOGY = "Sorry, something went wrong on my side. Nothing was lost; please try again in a minute."
# Stands in for the activity while the token is checked before the body is parsed. Teams is the only channel
# served, so keys must be endorsed for it; the serviceurl claim is compared once the activity is read.
_TEAMS_ONLY = Activity(channel_id=messages.TEAMS_CHANNEL)


class _Turn:
    """The core's Turn on botbuilder: replies and card updates in the activity's conversation, paced."""

    def __init__(self, turn_context: TurnContext, pacer: ConversationPacer, where) -> None:
        self._turn_context = turn_context
        self._pacer = pacer
        self._where = where

    def _recipient(self) -> str:
        activity = self._turn_context.activity
        if activity.conversation.conversation_type in (None, "personal") and activity.from_property and activity.from_property.name:
            return activity.from_property.name
        return f"conversation {activity.conversation.id[:100]}"

    async def apply(self, effect: Reply | UpdateCard) -> str:
        """Send a reply (its id) or update a card ('')."""
        if isinstance(effect, Reply):
            activity = to_activity(outgoing(effect.content))
            async with self._pacer.slot(self._where, Priority.ACKNOWLEDGEMENT):
                response = await with_retries(lambda: self._turn_context.send_activity(activity),
                                              f"replying to {self._recipient()}")
            return response.id if response else ""
        update = to_activity(updated_card(effect.card_id, effect.card))
        async with self._pacer.slot(self._where, Priority.CARD):
            await with_retries(lambda: self._turn_context.update_activity(update),
                               f"updating card {effect.card_id} for {self._recipient()}")
        return ""


def _invoke_json(body: object) -> object:
    """The JSON form of an invoke response body.

    botbuilder-integration-aiohttp 4.17.1 serializes the body a second time after it is already a dict, which
    fails on every invoke with a body (Action.Execute, expectReplies). Dicts and lists pass through untouched.
    """
    if body is None or isinstance(body, (dict, list, str, int, float, bool)):
        return body
    return serializer_helper(body)


class BotbuilderEndpoint:
    """How botbuilder checks a token and runs a turn, for the shared /api/messages handler."""

    def __init__(self, settings: Settings, adapter: CloudAdapter, app: SupportApp, pacer: ConversationPacer,
                 clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._adapter = adapter
        self._app = app
        self._pacer = pacer
        self._clock = clock

    async def authenticate(self, header: str) -> AuthenticateRequestResult | None:
        """The token's verdict before the body is read; None when refused."""
        try:
            # botbuilder checks the serviceurl claim only when given a serviceUrl; here it is given none.
            verdict = await self._adapter.bot_framework_authentication.authenticate_request(_TEAMS_ONLY, header or None)
            # PyJWT checks `exp` only when a token has one; a channel token without it would never expire.
            if self._settings.authenticated and "exp" not in (verdict.claims_identity.claims or {}):
                log.info("refused a request: the token has no expiry")
                return None
            return verdict
        except (PermissionError, jwt.PyJWTError) as err:
            log.info("refused a request: %s", type(err).__name__)
        except Exception as err:  # noqa: BLE001 - botbuilder raises bare Exceptions for endorsements and algorithms
            log.warning("token validation failed: %s: %s", type(err).__name__, str(err)[:200])
        return None

    def service_url_of(self, verdict: AuthenticateRequestResult) -> str | None:
        """The serviceurl claim of an accepted token."""
        return verdict.claims_identity.get_claim_value(AuthenticationConstants.SERVICE_URL_CLAIM)

    async def run(self, verdict: AuthenticateRequestResult, body: dict) -> web.Response:
        """Run the turn: the core gets the inbound event and a Turn; an invoke answers with the core's Answer."""
        try:
            activity = Activity().deserialize(body)
        except (DeserializationError, TypeError, ValueError, AttributeError, OverflowError):
            return messages.error(400, "the body is not a valid activity")
        event = inbound(body, self._clock())
        invoke = activity.type == ActivityTypes.invoke

        async def logic(turn_context: TurnContext) -> None:
            if event is None:
                return
            answer = await self._app.handle(event, _Turn(turn_context, self._pacer, event.address))
            if invoke:
                await turn_context.send_activity(Activity(
                    type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=invoke_body(answer))))

        # The verdict itself, not the header: the signature is checked once.
        response = await self._adapter.process_activity(verdict, activity, logic)
        if response is None:
            return web.Response(status=200 if invoke else 201)
        return web.json_response(_invoke_json(response.body), status=response.status)


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
    try:
        if activity.type == ActivityTypes.message:
            await with_retries(lambda: turn_context.send_activity(APOLOGY), "apologising")
        elif activity.type == ActivityTypes.invoke:
            body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": APOLOGY}
            await turn_context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body)))
    except (DeliveryFailed, RetryLater) as err:
        log.warning("could not send the apology: %s", err)
    except Exception:  # noqa: BLE001 - whatever broke the turn may break the apology too; never a 500 for it
        log.warning("could not send the apology", exc_info=True)


class TeamsEdge:
    """Everything the app needs from botbuilder: the messenger for proactive sends and the /api/messages handler."""

    def __init__(self, settings: Settings, conversations: ConversationRepository, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._clock = clock
        self._adapter = build_adapter(settings)
        self._adapter.on_turn_error = on_turn_error
        self._pacer = ConversationPacer()
        self.messenger = TeamsMessenger(self._adapter, settings, conversations, self._pacer)

    def messages_handler(self, app: SupportApp):
        """POST /api/messages."""
        return messages.messages_handler(self._settings, BotbuilderEndpoint(self._settings, self._adapter, app,
                                                                            self._pacer, self._clock))

    async def startup(self) -> None:
        """botbuilder's Connector client sends through `requests` in the default executor; with the asyncio default
        of min(32, cpus + 4) threads, background paging would queue acknowledgements behind it."""
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="send"))

    async def cleanup(self) -> None:
        """Close the shared Connector clients' connections."""
        authentication = self._adapter.bot_framework_authentication
        if isinstance(authentication, TeamsAuthentication):
            await authentication.close()


def build(settings: Settings, conversations: ConversationRepository, clock: Callable[[], datetime]) -> TeamsEdge:
    """The botbuilder adapter, from settings."""
    return TeamsEdge(settings, conversations, clock)



