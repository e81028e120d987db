"""The Agents SDK adapter's tokens: the channel tokens it accepts (against the token-service stand-in), and its
outbound tokens per BOT_TYPE (against a login stand-in on the bot's own event loop).

The e2e suite (tests/e2e/test_auth.py) runs the README's token cases against both adapters. Here are the adapter's own
checks beyond them: what botbuilder also refuses (another algorithm, an audience list, another agent's token, the
scheme spelt otherwise), and two it needs that botbuilder 4.17.1 does not: an expiry, and a key endorsed for msteams.

For outbound tokens, msal talks to https://login.microsoftonline.com through `requests`; the test sends those calls to the stand-in. The
stand-in runs on the test's loop, so a blocking msal call on the loop (msal's client is built with a blocking
discovery request) would hang the test instead of passing it. Managed identity asks App Service's endpoint
(IDENTITY_ENDPOINT, IDENTITY_HEADER), as on Azure.
"""

from __future__ import annotations

import time

import json

import jwt
import pytest
import requests
from aiohttp import web
from jwt.algorithms import RSAAlgorithm
from microsoft_agents.hosting.aiohttp import CloudAdapter

from bot.agents.auth import ChannelTokens, token_provider
from bot.agents.connector import ClientFactory
from bot.agents.proactive import AgentsMessenger
from bot.config import load_settings
from bot.core.events import Post, Text
from bot.domain.jobs import RetryLater
from bot.storage.conversations import TableConversationRepository
from bot.web.pacing import ConversationPacer
from bot.web.references import address
from tests.conftest import serve
from tests.support.tokens import ISSUER, TokenService

BOT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "3f0c7b52-0000-4000-8000-0000000000aa"
CHANNEL = "19:backend0channel0id@thread.tacv2"
LOGIN = "https://login.microsoftonline.com"


class Login:
    """Entra's token endpoints and App Service's managed-identity endpoint, recording what was asked."""

    def __init__(self, refuse: bool = False) -> None:
        self.seen: list[tuple] = []
        self.refuse = refuse
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()

        async def instance(_: web.Request) -> web.Response:
            return web.json_response({"tenant_discovery_endpoint": f"{LOGIN}/common/v2.0/.well-known/openid-configuration",
                                      "api-version": "1.1", "metadata": []})

        async def discovery(request: web.Request) -> web.Response:
            base = f"{LOGIN}/{request.match_info['tenant']}"
            return web.json_response({"token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
                                      "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"})

        async def token(request: web.Request) -> web.Response:
            form = await request.post()
            self.seen.append(("token", request.match_info["tenant"], form.get("client_id"), form.get("scope")))
            if self.refuse:
                return web.json_response({"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"},
                                         status=401)
            return web.json_response({"token_type": "Bearer", "expires_in": 3600, "access_token": "secret-token"})

        async def managed_identity(request: web.Request) -> web.Response:
            self.seen.append(("msi", request.query.get("resource"), request.query.get("client_id"),
                              request.headers.get("X-IDENTITY-HEADER")))
            return web.json_response({"access_token": "msi-token", "expires_on": str(int(time.time()) + 3600),
                                      "resource": request.query.get("resource"), "token_type": "Bearer"})

        app.router.add_get("/common/discovery/instance", instance)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
        app.router.add_get("/msi/token", managed_identity)
        return app


async def start_login(monkeypatch, refuse: bool = False) -> tuple[Login, web.AppRunner]:
    login = Login(refuse)
    runner, login.url = await serve(login.app())
    original = requests.Session.request

    def to_stand_in(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(LOGIN):
            url = login.url + url[len(LOGIN):]
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", to_stand_in)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{login.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "identity-header")
    return login, runner


def settings_for(**env: str):
    return load_settings({"TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true", "BOT_ID": BOT_ID, **env})


async def post_twice(settings, store, connector) -> list[str]:
    """Two posts through one messenger, as the bot process has one."""
    clients = ClientFactory(token_provider(settings), timeout=5)
    messenger = AgentsMessenger(CloudAdapter(channel_service_client_factory=clients), settings,
                                TableConversationRepository(store), ConversationPacer())
    where = address(connector.url, CHANNEL, TENANT, "channel")
    try:
        return [await messenger.send(Post(where, Text("hello"))) for _ in range(2)]
    finally:
        await clients.close()


@pytest.mark.parametrize("env, asked, token", [
    ({"BOT_PASSWORD": "s3cret"},
     ("token", "botframework.com", BOT_ID, "https://api.botframework.com/.default"), "secret-token"),
    ({"BOT_PASSWORD": "s3cret", "BOT_TYPE": "SingleTenant", "BOT_TENANT_ID": TENANT},
     ("token", TENANT, BOT_ID, "https://api.botframework.com/.default"), "secret-token"),
    ({"BOT_TYPE": "UserAssignedMSI", "BOT_TENANT_ID": TENANT},
     ("msi", "https://api.botframework.com", BOT_ID, "identity-header"), "msi-token"),
], ids=["MultiTenant", "SingleTenant", "UserAssignedMSI"])
async def test_each_bot_type_gets_its_connector_token(monkeypatch, store, connector, env, asked, token):
    login, runner = await start_login(monkeypatch)
    try:
        settings = settings_for(**env)
        assert all(await post_twice(settings, store, connector))
    finally:
        await runner.cleanup()
    assert login.seen == [asked]  # one token for both sends: msal keeps it
    assert [s.authorization for s in connector.sent] == [f"Bearer {token}"] * 2
    assert all(s.body["from"]["id"] == f"28:{BOT_ID}" for s in connector.sent)


async def test_a_refused_token_is_retried_later_and_nothing_is_sent(monkeypatch, store, connector):
    login, runner = await start_login(monkeypatch, refuse=True)
    try:
        with pytest.raises(RetryLater, match="no Bot Connector token: .*invalid_client"):
            await post_twice(settings_for(BOT_PASSWORD="wrong"), store, connector)
    finally:
        await runner.cleanup()
    assert login.seen and connector.attempts == []


class EndorsingTokens(TokenService):
    """The token-service stand-in, also publishing a key without endorsements and one endorsed for webchat only."""

    def __init__(self) -> None:
        super().__init__()
        self.other = self.foreign_key()

    def app(self) -> web.Application:
        app = web.Application()

        async def metadata(_: web.Request) -> web.Response:
            return web.json_response({"issuer": ISSUER, "jwks_uri": f"{self.url}/keys"})

        async def keys(_: web.Request) -> web.Response:
            published = []
            for kid, key, endorsements in ((self.kid, self.key, ["msteams"]), ("bare", self.other, None),
                                           ("webchat", self.other, ["webchat"])):
                jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
                jwk.update({"kid": kid, **({"endorsements": endorsements} if endorsements else {})})
                published.append(jwk)
            return web.json_response({"keys": published})

        app.router.add_get("/.well-known/openidconfiguration", metadata)
        app.router.add_get("/keys", keys)
        return app


def signed(tokens: EndorsingTokens, *, drop: tuple[str, ...] = (), kid: str | None = None, key=None, **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": BOT_ID, "serviceurl": "https://smba.example/", "nbf": now - 60, "exp": now + 600, **claims}
    for name in drop:
        body.pop(name)
    headers = {"kid": kid or tokens.kid} if kid != "" else {}
    return jwt.encode(body, key or tokens.key, algorithm="RS256", headers=headers)


@pytest.fixture
async def channel_tokens():
    service = EndorsingTokens()
    runner, service.url = await serve(service.app())
    yield service, ChannelTokens(settings_for(BOT_PASSWORD="x", BOT_OPENID_METADATA_URL=service.metadata_url,
                                              BOT_TOKEN_ISSUER=ISSUER))
    await runner.cleanup()


async def test_a_channel_token_is_accepted_with_its_claims(channel_tokens):
    service, tokens = channel_tokens
    claims = await tokens.claims(f"Bearer {signed(service)}")
    assert claims is not None and claims.get_claim_value("serviceurl") == "https://smba.example/"


@pytest.mark.parametrize("header", [
    pytest.param(lambda s: "Bearer " + signed(s, drop=("exp",)), id="no-expiry"),
    pytest.param(lambda s: "Bearer " + signed(s, kid=""), id="no-key-id"),
    pytest.param(lambda s: "Bearer " + signed(s, kid="bare", key=s.other), id="key-without-endorsements"),
    pytest.param(lambda s: "Bearer " + signed(s, kid="webchat", key=s.other), id="key-endorsed-for-webchat"),
    pytest.param(lambda s: "Bearer " + signed(s, aud=[BOT_ID, "another"]), id="audience-list"),
    pytest.param(lambda s: "Bearer " + signed(s, ver="1.0", appid="another-agent"), id="another-agents-token"),
    pytest.param(lambda s: "bearer " + signed(s), id="scheme-spelt-otherwise"),
    pytest.param(lambda s: "Bearer " + jwt.encode({"iss": ISSUER, "aud": BOT_ID, "exp": int(time.time()) + 600},
                                                  s.key, algorithm="RS384", headers={"kid": s.kid}), id="RS384"),
])
async def test_tokens_that_are_not_channel_tokens_for_this_bot_are_refused(channel_tokens, header):
    service, tokens = channel_tokens
    assert await tokens.claims(header(service)) is None
