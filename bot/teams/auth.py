"""The Bot Framework adapter, configured from settings: token validation and the Connector clients it makes."""

from __future__ import annotations

from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AuthenticateRequestResult, ClaimsIdentity, ConnectorFactory

from ..config import Settings
from . import signing_keys

# msrest's default is 100 s per read, and a Connector that never answers would hold a reply or a job that long.
# Teams itself answers in well under a second; 15 s is also how long Teams waits for the bot.
CONNECTOR_TIMEOUT_SECONDS = 15.0


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


class _BoundedConnectorFactory(ConnectorFactory):
    """Makes Connector clients that give up after a timeout and leave every retry to sending.py."""

    def __init__(self, inner: ConnectorFactory, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout

    async def create(self, service_url: str, audience: str = None) -> ConnectorClient:
        """A client for one serviceUrl, as botbuilder makes it, with our timeout and no hidden retries."""
        client = await self._inner.create(service_url, audience)
        client.config.connection.timeout = self._timeout
        # msrest's own policy has urllib3 retry PUTs and failed connections 3 times, sleep out Retry-After in a
        # worker thread, and turn a 5xx into an error without its status. One attempt per call here instead.
        # The client's session already holds this Retry object, so it is changed in place: no second attempt,
        # and every status is handed back as an answer.
        retry = client.config.retry_policy.policy
        retry.total = 0
        retry.status_forcelist = None
        return client


class TeamsAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication from settings, whose Connector clients are bounded in time."""

    def __init__(self, settings: Settings, connector_timeout: float) -> None:
        super().__init__(_SdkConfig(settings))
        self._connector_timeout = connector_timeout

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """Validate the token as botbuilder does; the replies of the turn use a bounded client."""
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _BoundedConnectorFactory(result.connector_factory, self._connector_timeout)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        """Connector clients for proactive sends, bounded like the others."""
        return _BoundedConnectorFactory(super().create_connector_factory(claims_identity), self._connector_timeout)


def build_adapter(settings: Settings, connector_timeout: float = CONNECTOR_TIMEOUT_SECONDS) -> CloudAdapter:
    """A CloudAdapter that authenticates requests whenever an app id is set, with bounded Connector calls."""
    signing_keys.install()
    return CloudAdapter(TeamsAuthentication(settings, connector_timeout))
