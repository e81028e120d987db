"""SigningKeys against the token-service stand-in: when keys are fetched again, and what an unknown key id gets."""

from __future__ import annotations

import asyncio

import pytest

from bot.web.signing_keys import KEYS_MAX_AGE_SECONDS, UNKNOWN_KEY_INTERVAL_SECONDS, SigningKeys
from tests.conftest import serve
from tests.support.processes import free_port
from tests.support.tokens import TokenService


class Clock:
    """Monotonic seconds that a test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def tokens():
    service = TokenService()
    runner, url = await serve(service.app())
    service.url = url
    yield service
    await runner.cleanup()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(tokens, clock) -> SigningKeys:
    return SigningKeys(tokens.metadata_url, clock)


async def test_keys_are_fetched_once_and_kept_for_a_day(keys, tokens, clock):
    first = await keys.get(tokens.kid)
    assert first.endorsements == ["msteams"]
    await keys.get(tokens.kid)
    assert tokens.key_fetches == 1
    clock.now += KEYS_MAX_AGE_SECONDS + 1
    await keys.get(tokens.kid)
    assert tokens.key_fetches == 2


async def test_a_new_key_is_found_by_fetching_again(keys, tokens):
    await keys.get(tokens.kid)
    new_kid = tokens.rotate()
    assert await keys.get(new_kid)
    assert tokens.key_fetches == 2


async def test_unknown_key_ids_fetch_at_most_once_a_minute(keys, tokens, clock):
    await keys.get(tokens.kid)
    results = await asyncio.gather(*(keys.get(f"made-up-{n}") for n in range(30)), return_exceptions=True)
    assert all(isinstance(r, PermissionError) for r in results)
    assert tokens.key_fetches == 2
    clock.now += UNKNOWN_KEY_INTERVAL_SECONDS - 1
    with pytest.raises(PermissionError):
        await keys.get("made-up-again")
    assert tokens.key_fetches == 2
    clock.now += 2
    with pytest.raises(PermissionError):
        await keys.get("made-up-again")
    assert tokens.key_fetches == 3


async def test_a_dropped_key_is_refused_after_the_next_fetch(keys, tokens):
    old_kid = tokens.kid
    await keys.get(old_kid)
    new_kid = tokens.rotate(drop_old=True)
    await keys.get(new_kid)
    with pytest.raises(PermissionError):
        await keys.get(old_kid)


async def test_a_token_without_a_key_id_is_refused(keys, tokens):
    with pytest.raises(PermissionError):
        await keys.get(None)


async def test_an_unreachable_token_service_refuses_tokens_and_keeps_known_keys(tokens, clock):
    down = SigningKeys(f"http://127.0.0.1:{free_port()}/.well-known/openidconfiguration", clock)
    with pytest.raises(PermissionError):
        await down.get(tokens.kid)
    keys = SigningKeys(tokens.metadata_url, clock)
    await keys.get(tokens.kid)
    keys.url = down.url  # the service goes away; the keys fetched before stay good
    clock.now += KEYS_MAX_AGE_SECONDS + 1
    assert await keys.get(tokens.kid)
