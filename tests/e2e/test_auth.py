"""Authentication and tenancy at the HTTP edge: bad tokens get 401, never 500; start-up refuses unsafe settings."""

import asyncio
import time

import jwt
import pytest

from tests.conftest import serve
from tests.e2e.conftest import post
from tests.support import activities
from tests.support.tokens import TokenService

BOT_ID = "11111111-2222-3333-4444-555555555555"
OTHER_APP = "99999999-2222-3333-4444-555555555555"
TENANT = activities.TENANT


@pytest.fixture
async def tokens():
    service = TokenService()
    runner, url = await serve(service.app())
    service.url = url
    yield service
    await runner.cleanup()


@pytest.fixture
def secured_bot(start_bot, tokens):
    return start_bot(
        ALLOW_UNAUTHENTICATED="", BOT_ID=BOT_ID, BOT_PASSWORD="not-used-in-tests", HOST="127.0.0.1",
        BOT_OPENID_METADATA_URL=tokens.metadata_url, BOT_TOKEN_ISSUER="https://api.botframework.com",
    )


def without_key_id(tokens: TokenService, service_url: str) -> str:
    """A token signed with the published key that does not name it (no `kid` header)."""
    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": BOT_ID, "serviceurl": service_url, "nbf": now - 60,
              "exp": now + 600}
    return jwt.encode(claims, tokens.key, algorithm="RS256")


def unendorsed(tokens: TokenService, service_url: str) -> str:
    """A token signed with a published key that lists no endorsements (so is not one for Teams)."""
    kid = tokens.publish_unendorsed()
    return tokens.token(BOT_ID, service_url, key=tokens.published[kid], kid=kid)


def expect_replies(service_url: str) -> dict:
    activity = activities.personal("help", service_url)
    activity["deliveryMode"] = "expectReplies"
    return activity


async def test_valid_token_is_accepted(http, secured_bot, tokens, connector):
    activity = expect_replies(connector.url)
    token = tokens.token(BOT_ID, connector.url)
    status, body = await post(http, secured_bot, activity, Authorization=f"Bearer {token}")
    assert status == 200, body
    assert "**who**" in body["activities"][0]["text"]


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda t, url: None, id="no-token"),
        pytest.param(lambda t, url: "Bearer", id="empty-bearer"),
        pytest.param(lambda t, url: "Basic dXNlcjpwYXNz", id="wrong-scheme"),
        pytest.param(lambda t, url: "Bearer garbage.not.a.jwt", id="garbage"),
        pytest.param(lambda t, url: "Bearer " + "x" * 4000, id="long-garbage"),
        pytest.param(lambda t, url: "Bearer " + t.token(OTHER_APP, url), id="wrong-audience"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, url, expires_in=-600), id="expired"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, url, key=t.foreign_key()), id="wrongly-signed"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, url, kid="unknown-key"), id="unknown-key-id"),
        pytest.param(lambda t, url: "Bearer " + without_key_id(t, url), id="no-key-id"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, url, issuer="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, "https://elsewhere.example/"), id="wrong-service-url"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, url) + "x", id="bad-signature"),
        pytest.param(lambda t, url: "Bearer " + t.token(BOT_ID, url, expires_in=None), id="no-expiry"),
        pytest.param(lambda t, url: "Bearer " + unendorsed(t, url), id="key-not-endorsed-for-teams"),
    ],
)
async def test_bad_tokens_get_401(http, secured_bot, tokens, connector, make_header):
    header = make_header(tokens, connector.url)
    headers = {"Authorization": header} if header else {}
    status, body = await post(http, secured_bot, expect_replies(connector.url), **headers)
    assert status == 401, body
    assert "error" in body
    assert connector.sent == []
    assert secured_bot.alive()
    assert "Traceback" not in secured_bot.log()


async def test_the_token_is_checked_before_the_body_is_parsed(http, secured_bot, tokens, connector):
    for body in (b"[" * 200_000, b"9" * 5000, b"{not json"):
        async with http.post(f"{secured_bot.url}/api/messages", data=body,
                             headers={"Content-Type": "application/json"}) as response:
            assert response.status == 401
    token = tokens.token(BOT_ID, connector.url)
    async with http.post(f"{secured_bot.url}/api/messages", data=b"[" * 200_000,
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}) as response:
        assert response.status == 400
    assert secured_bot.alive()
    assert "Traceback" not in secured_bot.log()


async def test_content_type_and_size_are_refused_before_the_token(http, secured_bot):
    async with http.post(f"{secured_bot.url}/api/messages", data=b"{}", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
    async with http.post(f"{secured_bot.url}/api/messages", data=b"[" * (1024 * 1024),
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413


async def test_a_missing_token_with_a_foreign_tenant_gets_401_not_403(http, start_bot, tokens, connector):
    bot = start_bot(
        ALLOW_UNAUTHENTICATED="", BOT_ID=BOT_ID, BOT_PASSWORD="not-used-in-tests", HOST="127.0.0.1",
        BOT_OPENID_METADATA_URL=tokens.metadata_url, BOT_TOKEN_ISSUER="https://api.botframework.com",
        ALLOWED_TENANT_IDS="aaaaaaaa-0000-4000-8000-000000000000",
    )
    status, _ = await post(http, bot, expect_replies(connector.url))
    assert status == 401
    status, _ = await post(http, bot, expect_replies(connector.url), Authorization=f"Bearer {tokens.token(BOT_ID, connector.url)}")
    assert status == 403
    assert "Traceback" not in bot.log()


async def test_a_valid_token_from_another_channel_gets_403(http, secured_bot, tokens, connector):
    activity = expect_replies(connector.url)
    activity["channelId"] = "webchat"
    status, _ = await post(http, secured_bot, activity, Authorization=f"Bearer {tokens.token(BOT_ID, connector.url)}")
    assert status == 403
    assert connector.sent == []


async def test_signing_keys_rotate_without_a_restart(http, secured_bot, tokens, connector):
    async def answer(token: str) -> int:
        status, _ = await post(http, secured_bot, expect_replies(connector.url), Authorization=f"Bearer {token}")
        return status

    old_key, old_kid = tokens.key, tokens.kid
    assert await answer(tokens.token(BOT_ID, connector.url)) == 200
    assert tokens.key_fetches == 1
    # The token service publishes a new key and withdraws the old one; the bot only learns it from a token.
    tokens.rotate(drop_old=True)
    assert await answer(tokens.token(BOT_ID, connector.url)) == 200
    assert tokens.key_fetches == 2
    assert await answer(tokens.token(BOT_ID, connector.url, key=old_key, kid=old_kid)) == 401
    assert await answer(tokens.token(BOT_ID, connector.url, kid="never-published")) == 401
    # A burst of made-up key ids within the minute costs no further fetch.
    burst = await asyncio.gather(*(answer(tokens.token(BOT_ID, connector.url, kid=f"made-up-{n}")) for n in range(20)))
    assert set(burst) == {401}
    assert tokens.key_fetches == 2
    assert await answer(tokens.token(BOT_ID, connector.url)) == 200
    assert secured_bot.alive()
    assert "Traceback" not in secured_bot.log()


async def test_foreign_tenant_is_refused_without_a_reply(http, start_bot, connector):
    bot = start_bot(ALLOWED_TENANT_IDS="aaaaaaaa-0000-4000-8000-000000000000")
    status, _ = await post(http, bot, activities.personal("who", connector.url))
    assert status == 403
    assert connector.sent == []


async def test_allowed_tenant_is_served(http, start_bot, connector):
    bot = start_bot(ALLOWED_TENANT_IDS=TENANT)
    status, _ = await post(http, bot, activities.personal("help", connector.url))
    assert status == 201
    await connector.wait_for(1)


def test_start_up_is_refused_without_bot_id_or_local_flag(start_bot):
    bot = start_bot(wait=False, ALLOW_UNAUTHENTICATED="")
    assert bot.process.wait(20) == 2
    assert bot.log().strip() == "configuration error: BOT_ID: is not set; set it, or set ALLOW_UNAUTHENTICATED=true for local mode"


def test_local_mode_refuses_to_listen_beyond_loopback(start_bot):
    bot = start_bot(wait=False, HOST="0.0.0.0")
    assert bot.process.wait(20) == 2
    assert "HOST: local mode (ALLOW_UNAUTHENTICATED=true) binds to loopback only" in bot.log()


def test_unreachable_storage_stops_start_up_with_one_line(start_bot):
    from tests.support.processes import connection_string, free_port

    bot = start_bot(wait=False, TABLES_CONNECTION_STRING=connection_string(free_port()))
    assert bot.process.wait(30) == 3
    assert "cannot start: creating table" in bot.log()
    assert "Traceback" not in bot.log()
