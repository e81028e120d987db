"""The Bot Framework adapter, configured from settings."""

from __future__ import annotations

from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from ..config import Settings
from . import signing_keys


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


def build_adapter(settings: Settings) -> CloudAdapter:
    """A CloudAdapter that authenticates requests whenever an app id is set."""
    signing_keys.install()
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(_SdkConfig(settings)))
