"""Who we are to the Agents SDK (our settings as its connection settings) and how channel tokens are checked.

The SDK's own JwtTokenValidator is not used: it has no setting for BOT_OPENID_METADATA_URL (it derives the keys'
address from the token's unverified issuer), checks no issuer unless told to, lets a token without `exp` through,
never reads the keys' endorsements, and lets a token without `kid` escape as KeyError (a 500). `ChannelTokens` checks
what botbuilder checks, from the Authorization header alone, with the shared signing keys (bot/web/signing_keys.py).
"""

from __future__ import annotations

import logging

import jwt
from microsoft_agents.authentication.msal import MsalAuth
from microsoft_agents.hosting.core import AgentAuthConfiguration, AuthTypes, ClaimsIdentity

from ..config import Settings
from ..web.signing_keys import signing_keys_for

log = logging.getLogger(__name__)

# The public cloud's channel tokens, as botbuilder 4.17.1 has them (AuthenticationConstants).
PUBLIC_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
PUBLIC_ISSUER = "https://api.botframework.com"
TEAMS = "msteams"
ALGORITHMS = ["RS256"]  # as botbuilder allows for channel tokens
LEEWAY_SECONDS = 300  # botbuilder's clock tolerance


def auth_configuration(settings: Settings) -> AgentAuthConfiguration:
    """Our settings as the SDK's connection settings (local mode: anonymous)."""
    if not settings.bot_id:
        return AgentAuthConfiguration(anonymous_allowed=True)
    if settings.bot_type == "UserAssignedMSI":
        # BOT_ID is the managed identity's client id; no secret, and msal asks the identity endpoint, not a tenant.
        return AgentAuthConfiguration(auth_type=AuthTypes.user_managed_identity, client_id=settings.bot_id,
                                      tenant_id=settings.bot_tenant_id)
    return AgentAuthConfiguration(
        auth_type=AuthTypes.client_secret, client_id=settings.bot_id, client_secret=settings.bot_password,
        # A MultiTenant bot gets its Connector token from the botframework.com tenant, as botbuilder does.
        tenant_id=settings.bot_tenant_id if settings.bot_type == "SingleTenant" else "botframework.com",
    )


def token_provider(settings: Settings) -> MsalAuth | None:
    """Where the Bot Connector tokens come from; None in local mode, where replies carry no token."""
    return MsalAuth(auth_configuration(settings)) if settings.bot_id else None


class ChannelTokens:
    """Bot Framework channel tokens: signed by a published key endorsed for Teams, for this bot, from our issuer."""

    def __init__(self, settings: Settings) -> None:
        self._app_id = settings.bot_id
        self._issuer = settings.token_issuer or PUBLIC_ISSUER
        self._keys = signing_keys_for(settings.openid_metadata_url or PUBLIC_METADATA_URL)

    async def claims(self, header: str) -> ClaimsIdentity | None:
        """The verified claims of an `Authorization: Bearer …` header; None when the token is refused.

        Refused as botbuilder refuses them: another scheme than `Bearer` (so spelt, one space), an audience other than
        this bot (a list too), and a token of another agent or skill (a `ver` claim with an app id other than ours).
        """
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or token != token.strip():
            return None
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
            key = await self._keys.get(key_id if isinstance(key_id, str) else None)
            if TEAMS not in key.endorsements:
                log.info("refused a request: the signing key is not endorsed for Teams")
                return None
            claims = jwt.decode(token, key=key.public_key, algorithms=ALGORITHMS, audience=self._app_id,
                                issuer=self._issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iss", "aud"]})
        except (jwt.PyJWTError, PermissionError) as err:
            log.info("refused a request: %s", type(err).__name__)
            return None
        identity = ClaimsIdentity(claims, authentication_type="Bearer", security_token=token)
        if claims.get("aud") != self._app_id or identity.is_agent_claim():
            log.info("refused a request: the token is not a channel token for this bot")
            return None
        return identity
