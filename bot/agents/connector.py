"""The Agents SDK's Connector clients, made by us: a bounded timeout, one attempt per call, every error readable.

The SDK's own factory gives each client aiohttp's default session (300 s total), reports a failed
`create_conversation` without its body (so Teams' error code is lost), and fetches a user-token client's token on
every turn. `ClientFactory` makes each turn's `TeamsConnectorClient` with a session that

- gives up after 15 s (`CONNECTOR_TIMEOUT_SECONDS`, as the botbuilder adapter does);
- raises `ConnectorError` (status, Teams' error code, Retry-After) for every answer that is not 2xx, before the SDK
  reads it, creating a chat included;
- never sends a request twice: aiohttp resends an idempotent request (a card update) once when the connection
  drops, and Teams may have taken the first;
- asks for the Bot Connector token only when a request goes out (none in local mode), so a token that cannot be
  had fails the send that needed it, inside the turn, like any Connector failure;
- shares one connection pool, so a turn does not open a new TLS connection to Teams.

`failure_of` reads these exceptions as the shared `ConnectorFailure` (the rules are in bot/web/connector.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Awaitable, Callable, TypeVar

import aiohttp
from microsoft_agents.activity import ConversationParameters, ConversationResourceResponse
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext
from microsoft_agents.hosting.core.authorization import AccessTokenProviderBase
from microsoft_agents.hosting.core.connector.client.connector_client import ConversationsOperations
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from ..domain.retry import parse_retry_after
from ..web import connector
from ..web.connector import ConnectorFailure, one_line

T = TypeVar("T")

# Teams itself answers in well under a second; 15 s is also how long Teams waits for the bot.
CONNECTOR_TIMEOUT_SECONDS = 15.0
BOT_CONNECTOR = "https://api.botframework.com"
BOT_CONNECTOR_SCOPE = "https://api.botframework.com/.default"


class ConnectorError(Exception):
    """The Connector answered an error: its status, Teams' error code, and Retry-After as sent."""

    def __init__(self, status: int, code: str, message: str, retry_after: str | None) -> None:
        super().__init__(f"{status} {code}: {message}".strip())
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


class NoToken(Exception):
    """No token for the Bot Connector could be had (the login service failed or refused our credentials)."""


class ConnectionDropped(aiohttp.ClientConnectionError):
    """The connection broke before Teams answered; raised instead of the error aiohttp would resend after."""


def _error_of(status: int, text: str, retry_after: str | None) -> ConnectorError:
    code, message = "", text
    try:
        error = json.loads(text).get("error") or {}
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        pass
    return ConnectorError(status, code, one_line(message), retry_after)


class _Tokens:
    """The Bot Connector token of our app registration, asked for per request (msal caches it)."""

    def __init__(self, provider: AccessTokenProviderBase) -> None:
        self._provider = provider
        self._ready = False
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if not self._ready:
            async with self._lock:
                # MsalAuth builds its msal client on first use, on the event loop, and msal's constructor fetches the
                # authority's metadata with a blocking call; build it in a worker thread instead.
                make_client = getattr(self._provider, "_get_client", None)
                if not self._ready and make_client is not None:
                    await asyncio.to_thread(make_client)
                self._ready = True
        try:
            return await self._provider.get_access_token(BOT_CONNECTOR, [BOT_CONNECTOR_SCOPE])
        except Exception as err:  # noqa: BLE001 - msal and MsalAuth raise ValueError, requests' errors and more
            raise NoToken(f"no Bot Connector token: {type(err).__name__}: {one_line(err)}") from err


class _Conversations(ConversationsOperations):
    """The SDK's conversation calls, with a chat's creation read leniently."""

    async def create_conversation(self, body: ConversationParameters) -> ConversationResourceResponse:
        """Create a chat; Teams' answer may say `"activityId": null`, which the SDK's model refuses after the fact."""
        try:
            async with self.client.post("v3/conversations",
                                        json=body.model_dump(by_alias=True, exclude_unset=True, mode="json")) as response:
                data = await response.json(content_type=None)
        except BaseException:
            # The SDK closes a client only after a successful create; nothing else will use this one.
            await self.client.close()
            raise
        return ConversationResourceResponse.model_validate({k: v for k, v in (data or {}).items() if v is not None})


class _Client(TeamsConnectorClient):
    """A Connector client whose conversations are ours."""

    def __init__(self, endpoint: str, session: aiohttp.ClientSession) -> None:
        super().__init__(endpoint=endpoint, token="", session=session)
        self._lenient = _Conversations(self.client)

    @property
    def conversations(self) -> _Conversations:
        return self._lenient


class _NoSignIn:
    """The user-token client the SDK wants for every turn; this bot signs nobody in, so it is never used."""

    async def close(self) -> None:
        """Nothing to close."""


class ClientFactory:
    """The SDK's ChannelServiceClientFactoryBase, with our sessions; `provider` None is local mode (no token)."""

    def __init__(self, provider: AccessTokenProviderBase | None, timeout: float = CONNECTOR_TIMEOUT_SECONDS) -> None:
        self._tokens = _Tokens(provider) if provider is not None else None
        self._timeout = timeout
        self._pool: aiohttp.TCPConnector | None = None

    async def _send(self, request: aiohttp.ClientRequest, handler) -> aiohttp.ClientResponse:
        """Every Connector request: the token, one attempt, and a ConnectorError for any answer that is not 2xx."""
        if self._tokens is not None:
            request.headers["Authorization"] = f"Bearer {await self._tokens.token()}"
        try:
            response = await handler(request)
        except aiohttp.ClientConnectorError:
            raise  # never connected: nothing was sent, and aiohttp resends nothing
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as err:
            raise ConnectionDropped(f"{type(err).__name__}: {one_line(err)}") from err
        if response.status >= 400:
            text = await response.text(errors="replace")
            response.release()
            raise _error_of(response.status, text, response.headers.get("Retry-After"))
        return response

    def session(self, service_url: str) -> aiohttp.ClientSession:
        """An HTTP session for one serviceUrl, on the shared pool; closing it leaves the pool open."""
        if self._pool is None or self._pool.closed:
            self._pool = aiohttp.TCPConnector(limit=100)
        base = service_url if service_url.endswith("/") else service_url + "/"
        return aiohttp.ClientSession(base_url=base, connector=self._pool, connector_owner=False,
                                     timeout=aiohttp.ClientTimeout(total=self._timeout), middlewares=(self._send,))

    async def create_connector_client(self, context: TurnContext | None, claims_identity: ClaimsIdentity,
                                      service_url: str, audience: str, scopes: list[str] | None = None,
                                      use_anonymous: bool = False) -> TeamsConnectorClient:
        """A client for one turn; the token is asked for when a request goes out, always for the Bot Connector."""
        return _Client(service_url, self.session(service_url))

    async def create_user_token_client(self, context: TurnContext, claims_identity: ClaimsIdentity,
                                       use_anonymous: bool = False) -> _NoSignIn:
        """No user sign-in here: nothing to fetch a token for."""
        return _NoSignIn()

    async def close(self) -> None:
        """Close the connection pool."""
        if self._pool is not None:
            await self._pool.close()


def failure_of(error: BaseException) -> ConnectorFailure | None:
    """The Connector failure behind an exception; None when it is not one (then it is a bug, not Teams)."""
    if isinstance(error, ConnectorError):
        return ConnectorFailure(error.status, error.code, error.message, parse_retry_after(error.retry_after))
    if isinstance(error, NoToken):
        return ConnectorFailure(None, "NoToken", one_line(error))
    if isinstance(error, aiohttp.InvalidURL):
        return ConnectorFailure(400, "InvalidServiceUrl", one_line(error))
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return ConnectorFailure(None, "Timeout", "Teams did not answer in time")
    if isinstance(error, aiohttp.ClientError):
        return ConnectorFailure(None, "ConnectionError", "Teams could not be reached or dropped the connection")
    return None


async def with_retries(call: Callable[[], Awaitable[T]], what: str) -> T:
    """A Connector call through the Agents SDK, with the shared retry and failure rules."""
    return await connector.with_retries(call, what, failure_of)
