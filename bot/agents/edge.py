"""The Microsoft 365 Agents SDK 1.9.0 adapter: the SDK half of /api/messages, the turn's effects, and the proactive
messenger. The SDK runs turns and sends; reading requests (bot/web/messages.py), activity JSON
(bot/web/activities.py), pacing, retries and references are shared with the botbuilder adapter.

Not used from the SDK, for reasons in docs/agents-sdk-adapter.md: its HTTP entry point (`CloudAdapter.process`,
`start_agent_process`) and JWT middleware, its token validator, its Connector client factory, `AgentApplication`,
and the deprecated microsoft-agents-hosting-teams package.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from aiohttp import web
from microsoft_agents.activity import Activity, ActivityTypes, InvokeResponse
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext

from ..config import Settings
from ..core.app import SupportApp
from ..core.events import Priority, Reply, Update, UpdateCard
from ..domain.errors import DeliveryFailed
from ..domain.jobs import RetryLater
from ..services.ports import ConversationRepository
from ..web import messages
from ..web.activities import PLAIN_ANSWER, inbound, invoke_body, outgoing, updated_card
from ..web.pacing import ConversationPacer
from .auth import ChannelTokens, token_provider
from .connector import ClientFactory, with_retries
from .proactive import AgentsMessenger, bot_account

log = logging.getLogger(__name__)
APOLOGY = "Sorry, something went wrong on my side. Nothing was lost; please try again in a minute."

# The SDK's own log lines that would break "one warning line, no traceback" or repeat ours: every Connector error
# as ERROR, an invalid activity as ERROR with a traceback (we answer 400), a refused Connector token as ERROR (our
# warning carries the login service's answer), conversation ids at INFO on every send.
_QUIET = {
    "microsoft_agents": logging.WARNING,
    "microsoft_agents.hosting.core.connector": logging.CRITICAL,
    "microsoft_agents.activity": logging.CRITICAL,
    "microsoft_agents.authentication.msal": logging.CRITICAL,
}


def quieten_sdk_logs() -> None:
    """Turn the SDK's loggers down to what is worth a line of ours."""
    for name, level in _QUIET.items():
        logging.getLogger(name).setLevel(level)


class _Turn:
    """The core's Turn on the Agents SDK: replies and card updates in the activity's conversation, paced."""

    def __init__(self, turn_context: TurnContext, pacer: ConversationPacer, where, messenger: AgentsMessenger) -> None:
        self._turn_context = turn_context
        self._pacer = pacer
        self._where = where
        self._messenger = messenger

    def _recipient(self) -> str:
        activity = self._turn_context.activity
        sender = activity.from_property
        if activity.conversation.conversation_type in (None, "personal") and sender and sender.name:
            return sender.name
        return f"conversation {activity.conversation.id[:100]}"

    async def apply(self, effect: Reply | UpdateCard) -> str:
        """Send a reply (its id) or update a card ('')."""
        if isinstance(effect, Reply):
            activity = Activity.model_validate(outgoing(effect.content))
            async with self._pacer.slot(self._where, Priority.ACKNOWLEDGEMENT):
                response = await with_retries(lambda: self._turn_context.send_activity(activity),
                                              f"replying to {self._recipient()}")
            return (response.id or "") if response else ""
        if self._turn_context.activity.delivery_mode == "expectReplies":
            # Such a turn has no Connector client: the SDK buffers its replies into the HTTP answer. A card update
            # still goes to Teams, as botbuilder sends it.
            await self._messenger.send(Update(self._where, effect.card_id, effect.card, Priority.CARD))
            return ""
        update = Activity.model_validate(updated_card(effect.card_id, effect.card))
        async with self._pacer.slot(self._where, Priority.CARD):
            await with_retries(lambda: self._turn_context.update_activity(update),
                               f"updating card {effect.card_id} for {self._recipient()}")
        return ""


def _invoke_response(body: dict) -> Activity:
    return Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))


class AgentsEndpoint:
    """How the Agents SDK adapter checks a token and runs a turn, for the shared /api/messages handler."""

    def __init__(self, settings: Settings, adapter: CloudAdapter, app: SupportApp, pacer: ConversationPacer,
                 clock: Callable[[], datetime], messenger: AgentsMessenger) -> None:
        self._settings = settings
        self._adapter = adapter
        self._app = app
        self._pacer = pacer
        self._clock = clock
        self._messenger = messenger
        self._tokens = ChannelTokens(settings) if settings.authenticated else None

    async def authenticate(self, header: str) -> ClaimsIdentity | None:
        """The token's claims before the body is read; None when refused."""
        if self._tokens is not None:
            return await self._tokens.claims(header)
        # Local mode: no token, anonymous; a token is refused, since there is no app id it could be for (botbuilder
        # answers the same).
        return None if header else ClaimsIdentity()

    def service_url_of(self, claims: ClaimsIdentity) -> str | None:
        """The serviceurl claim of an accepted token."""
        return claims.get_claim_value("serviceurl")

    async def run(self, claims: ClaimsIdentity, body: dict) -> web.Response:
        """Run the turn: the core gets the inbound event and a Turn; an invoke answers with the core's Answer."""
        try:
            activity = Activity.model_validate(body)
        except Exception:  # noqa: BLE001 - pydantic's ValidationError, and TypeError or a bare Exception for some ids
            return messages.error(400, "the body is not a valid activity")
        if activity.recipient is None:
            # A reply's sender is the activity's recipient, and the SDK builds no reply without one; Teams always
            # names the bot there, botbuilder replies without.
            activity.recipient = bot_account(self._settings)
        event = inbound(body, self._clock())
        invoke = activity.type == ActivityTypes.invoke

        async def logic(turn_context: TurnContext) -> None:
            if event is None:
                return
            answer = await self._app.handle(event, _Turn(turn_context, self._pacer, event.address, self._messenger))
            if invoke:
                await turn_context.send_activity(_invoke_response(invoke_body(answer)))

        response = await self._adapter.process_activity(claims, activity, logic)
        if response is None:
            return web.Response(status=200 if invoke else 201)
        return web.json_response(response.body, status=response.status)


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
            await turn_context.send_activity(
                _invoke_response({"statusCode": 200, "type": PLAIN_ANSWER, "value": APOLOGY}))
    except (DeliveryFailed, RetryLater) as err:
        log.warning("could not send the apology: %s", err)
    except Exception:  # noqa: BLE001 - whatever broke the turn may break the apology too; never a 500 for it
        log.warning("could not send the apology", exc_info=True)


class AgentsEdge:
    """Everything the app needs from the Agents SDK: the messenger for proactive sends and the /api/messages handler."""

    def __init__(self, settings: Settings, conversations: ConversationRepository, clock: Callable[[], datetime]) -> None:
        quieten_sdk_logs()
        self._settings = settings
        self._clock = clock
        self._clients = ClientFactory(token_provider(settings))
        self._adapter = CloudAdapter(channel_service_client_factory=self._clients)
        self._adapter.on_turn_error = on_turn_error
        self._pacer = ConversationPacer()
        self.messenger = AgentsMessenger(self._adapter, settings, conversations, self._pacer)

    def messages_handler(self, app: SupportApp):
        """POST /api/messages."""
        return messages.messages_handler(self._settings, AgentsEndpoint(self._settings, self._adapter, app, self._pacer,
                                                                        self._clock, self.messenger))

    async def startup(self) -> None:
        """Nothing to start: the SDK sends with aiohttp on the event loop."""

    async def cleanup(self) -> None:
        """Close the Connector connection pool."""
        await self._clients.close()


def build(settings: Settings, conversations: ConversationRepository, clock: Callable[[], datetime]) -> AgentsEdge:
    """The Agents SDK adapter, from settings."""
    return AgentsEdge(settings, conversations, clock)
