"""The Bot Framework adapter, configured from settings: token validation and the Connector clients it makes.

Connector clients are made once and shared. botbuilder 4.17.1 builds a new `ConnectorClient` (a msrest configuration,
a retry policy, a `requests.Session` and, with an app id, new `MicrosoftAppCredentials` whose msal client has an
empty token cache) for every turn and every proactive send, and a `_UserTokenClientImpl` (another client and session)
for every turn, though this bot signs nobody in. `TeamsAuthentication` keeps one bounded client per
(app id, serviceUrl, audience) and one user-token client per app id, and hands them to every later turn and send.

Why sharing a client is safe (botbuilder 4.17.1, msrest 0.7.1, requests 2.x, urllib3 2.x, as read in their code):

- A client holds no per-turn or per-conversation state. Its operations take the conversation and activity as
  arguments, and the credentials depend only on the app id and the audience, which are part of the key (the login
  endpoint and the secret are fixed per `TeamsAuthentication`).
- msrest runs a call's pipeline (user agent, credentials, logging) as coroutines on the event loop; only
  `session.request` runs in a worker thread. The credentials policy sets the session's Authorization header on the
  loop before each request goes out: the same key each time (or, without an app id, no header at all), so the header
  dict never changes size while a worker thread copies it into its request, and a worker reads either token, both
  valid for this app and audience. msal (on the loop thread only) caches the token and fetches a new one a few
  minutes before it expires, so a send no longer logs in first.
- The session a client sends with is the one of the thread that makes the calls (msrest keeps one per thread), here
  the event loop's, shared by the worker threads: urllib3's connection pool is thread-safe and keeps connections
  open between sends. Per call msrest only sets `max_redirects` and `trust_env` to the same values again.
- Timeout and retries are set once, when the client is made, before anyone else holds it: `config.connection` is
  read on every call and changed by nothing else (botbuilder passes no per-call operation config), and the urllib3
  `Retry` the session's adapters hold is changed in place; urllib3 never changes it, each attempt makes a new one.
- `_prepare_session` runs on the loop thread before each request (msrest's `session_configuration_callback`) and
  changes the session only the first time, before any request of that session has gone out: a pool as large as the
  send threads (the default 10 would drop and reopen connections, with a warning each time, when more sends are on
  their way), and no cookies kept, so that nothing a Connector sets is sent back on later sends or piles up.

A dropped keep-alive connection is reported like any dropped connection (RetryLater, never resent at once), as the
Agents SDK adapter's shared pool does; urllib3 discards a pooled connection the server has already closed.
"""

from __future__ import annotations

from collections import OrderedDict
from http.cookiejar import DefaultCookiePolicy
from typing import Generic, Hashable, TypeVar

from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from requests import Session
from requests.adapters import HTTPAdapter

from ..config import Settings
from . import signing_keys

# msrest's default is 100 s per read, and a Connector that never answers would hold a reply or a job that long.
# Teams itself answers in well under a second; 15 s is also how long Teams waits for the bot.
CONNECTOR_TIMEOUT_SECONDS = 15.0
# The threads botbuilder's clients send from (edge.py makes the loop's default executor this large): no more
# requests than this are ever on their way at once, so no client needs more connections.
SEND_THREADS = 32
# Connector clients kept per TeamsAuthentication. Teams uses a handful of serviceUrls; a token names the one it is
# for, but the bound keeps memory flat whatever arrives (and in local mode, where nothing is checked).
CONNECTOR_CLIENTS = 32
# User-token clients kept: one per app id, and only our own passes token validation.
USER_TOKEN_CLIENTS = 4

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """At most `size` values, the least recently used one evicted first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def add(self, key: K, value: V) -> tuple[V, list[V]]:
        """Keep value under key unless one is there already: the value kept, and the values evicted for it."""
        kept = self._items.setdefault(key, value)
        self._items.move_to_end(key)
        evicted = []
        while len(self._items) > self._size:
            evicted.append(self._items.popitem(last=False)[1])
        return kept, evicted

    def clear(self) -> list[V]:
        values = list(self._items.values())
        self._items.clear()
        return values


class _SdkConfig:
    """The attribute names botbuilder's configuration classes read."""

    def __init__(self, settings: Settings) -> None:
        self.APP_ID = settings.bot_id
        self.APP_PASSWORD = settings.bot_password
        self.APP_TYPE = settings.bot_type
        self.APP_TENANTID = settings.bot_tenant_id
        if settings.openid_metadata_url:
            # A sovereign cloud, or a token stand-in in tests: the SDK then validates
            # channel tokens against this issuer and these signing keys.
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.openid_metadata_url
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = settings.token_issuer
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = "https://api.botframework.com"
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = "https://login.microsoftonline.com/botframework.com"


def _app_id(claims_identity: ClaimsIdentity) -> str | None:
    """The app id botbuilder makes a turn's clients for, read as its `_BuiltinBotFrameworkAuthentication.get_app_id`
    reads it: the audience claim (a channel's token), else the appid claim (a proactive turn's identity)."""
    app_id = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if app_id is None:
        app_id = claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return app_id


class _SharedPool(HTTPAdapter):
    """requests' adapter with a pool for every send thread; its type marks a session already prepared."""


_NO_COOKIES = DefaultCookiePolicy(allowed_domains=[])


def _prepare_session(session: Session, global_config, local_config, **kwargs):
    """msrest's per-call session hook: the first time a session is seen, a larger pool and no cookie jar."""
    if not isinstance(session.adapters.get("https://"), _SharedPool):
        session.cookies.set_policy(_NO_COOKIES)
        retry = global_config.retry_policy()  # the Retry changed in place by _bounded, as before
        for prefix in ("https://", "http://"):
            session.mount(prefix, _SharedPool(pool_maxsize=SEND_THREADS, max_retries=retry))
    return kwargs


def _bounded(client: ConnectorClient, timeout: float) -> ConnectorClient:
    """A client as botbuilder makes it, with our timeout and no hidden retries; done once, before it is shared."""
    client.config.connection.timeout = timeout
    # msrest's own policy has urllib3 retry PUTs and failed connections 3 times, sleep out Retry-After in a
    # worker thread, and turn a 5xx into an error without its status. One attempt per call here instead.
    # The client's session already holds this Retry object, so it is changed in place: no second attempt,
    # and every status is handed back as an answer.
    retry = client.config.retry_policy.policy
    retry.total = 0
    retry.status_forcelist = None
    client.config.session_configuration_callback = _prepare_session
    return client


class _ConnectorClients:
    """The bounded Connector clients of one TeamsAuthentication, by (app id, serviceUrl, audience)."""

    def __init__(self, timeout: float, default_audience: str | None, size: int) -> None:
        self._timeout = timeout
        self._default_audience = default_audience
        self._clients: _Recent[tuple[str, str, str | None], ConnectorClient] = _Recent(size)

    def __len__(self) -> int:
        return len(self._clients)

    async def get(self, inner: ConnectorFactory, app_id: str | None, service_url: str,
                  audience: str | None) -> ConnectorClient:
        """The client for this key, made by botbuilder's factory the first time."""
        # No app id (None for an unauthenticated turn, "" for a proactive one) gets empty credentials or an error
        # either way, and botbuilder's factory uses its default audience when given none: one key each.
        key = (app_id or "", service_url, audience or self._default_audience)
        client = self._clients.get(key)
        if client is None:
            client, evicted = self._clients.add(key, _bounded(await inner.create(service_url, audience), self._timeout))
            for old in evicted:
                await _close(old)
        return client

    async def close(self) -> None:
        for client in self._clients.clear():
            await _close(client)


async def _close(client: ConnectorClient) -> None:
    """Close a client's idle connections. A turn still holding it can send on: requests opens a new connection."""
    await client.__aexit__(None, None, None)


class _BoundedConnectorFactory(ConnectorFactory):
    """Hands out the shared, bounded Connector clients of one app id (botbuilder's `inner` makes each once)."""

    def __init__(self, inner: ConnectorFactory, app_id: str | None, clients: _ConnectorClients) -> None:
        self._inner = inner
        self._app_id = app_id
        self._clients = clients

    async def create(self, service_url: str, audience: str = None) -> ConnectorClient:
        """The client for a serviceUrl: made as botbuilder makes it the first time, with our timeout and no hidden
        retries, and the same client from then on."""
        return await self._clients.get(self._inner, self._app_id, service_url, audience)


class TeamsAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication from settings, whose Connector clients are bounded in time and shared."""

    def __init__(self, settings: Settings, connector_timeout: float, connector_clients: int = CONNECTOR_CLIENTS) -> None:
        super().__init__(_SdkConfig(settings))
        self._connectors = _ConnectorClients(connector_timeout, self.get_originating_audience(), connector_clients)
        self._user_token_clients: _Recent[str | None, UserTokenClient] = _Recent(USER_TOKEN_CLIENTS)

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """Validate the token as botbuilder does; the replies of the turn use a shared bounded client."""
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _BoundedConnectorFactory(
                result.connector_factory, _app_id(result.claims_identity), self._connectors)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        """Connector clients for proactive sends: the same shared clients as the turns'."""
        return _BoundedConnectorFactory(super().create_connector_factory(claims_identity), _app_id(claims_identity),
                                        self._connectors)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        """botbuilder's user-token client, made once per app id (its credentials depend on nothing else).

        botbuilder asks for one on every turn and proactive send; this bot never signs anyone in, so it is never
        used, and when it is, its calls carry everything they need (user, connection, channel) as arguments.
        """
        app_id = _app_id(claims_identity)
        client = self._user_token_clients.get(app_id)
        if client is None:
            client, _ = self._user_token_clients.add(app_id, await super().create_user_token_client(claims_identity))
        return client

    @property
    def connector_clients(self) -> int:
        """How many Connector clients are kept now."""
        return len(self._connectors)

    async def close(self) -> None:
        """Close the kept Connector clients' connections (user-token clients never opened any)."""
        await self._connectors.close()
        self._user_token_clients.clear()


def build_adapter(settings: Settings, connector_timeout: float = CONNECTOR_TIMEOUT_SECONDS) -> CloudAdapter:
    """A CloudAdapter that authenticates requests whenever an app id is set, with bounded, shared Connector clients."""
    signing_keys.install()
    return CloudAdapter(TeamsAuthentication(settings, connector_timeout))
