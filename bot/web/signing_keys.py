"""Channel-token signing keys, for both Teams adapters: fetched without blocking, and looked up again when
Microsoft rotates them.

`SigningKeys` holds the keys published at one OpenID metadata URL (Microsoft's, or BOT_OPENID_METADATA_URL):

- keys are fetched with aiohttp, when first needed and again after a day, so the event loop never waits on them;
- a token whose key id is unknown makes it fetch the metadata and keys again, at most once a minute per
  metadata URL, so a key Microsoft publishes during the day is accepted at once and a flood of made-up
  key ids costs one fetch a minute;
- a key id that is still not published (or no key id at all) is refused with PermissionError (the endpoint
  answers 401).

The botbuilder adapter plugs it into botbuilder's token validation (bot/teams/signing_keys.py); the Agents SDK
adapter validates tokens with it and PyJWT (bot/agents/auth.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import aiohttp
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

KEYS_MAX_AGE_SECONDS = 24 * 3600
UNKNOWN_KEY_INTERVAL_SECONDS = 60.0
# After a failed fetch, the next scheduled one waits this long, so an outage costs one fetch per interval.
FAILED_FETCH_INTERVAL_SECONDS = 10.0
FETCH_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SigningKey:
    """A public key and the channels it is endorsed for (botbuilder's token extractor reads these two names)."""

    public_key: Any
    endorsements: list[str]


def _keys_from(document: Any) -> dict[str, SigningKey]:
    """The usable keys of a JWKS document by key id; malformed entries are skipped."""
    keys: dict[str, SigningKey] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        try:
            public_key = RSAAlgorithm.from_jwk(json.dumps(entry))
        except Exception:  # noqa: BLE001 - PyJWT raises several types for a bad key; one bad key spoils nothing
            log.warning("skipped an unreadable signing key %r", entry["kid"][:60])
            continue
        endorsements = entry.get("endorsements")
        keys[entry["kid"]] = SigningKey(public_key, list(endorsements) if isinstance(endorsements, list) else [])
    return keys


class SigningKeys:
    """The signing keys published at one OpenID metadata URL."""

    def __init__(self, url: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fresh_until = float("-inf")
        self._next_unknown_lookup = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, key_id: str | None) -> SigningKey:
        """The key a token names in its `kid` header; PermissionError when it is not published."""
        if self._clock() < self._fresh_until and key_id in self._keys:
            return self._keys[key_id]
        async with self._lock:
            # Whoever waited for the lock may find that the fetch it wanted has just been made.
            now = self._clock()
            if now >= self._fresh_until:
                await self._fetch()
            elif key_id and key_id not in self._keys and now >= self._next_unknown_lookup:
                self._next_unknown_lookup = now + UNKNOWN_KEY_INTERVAL_SECONDS
                log.info("a token names an unknown signing key; fetching the keys again")
                await self._fetch()
        key = self._keys.get(key_id) if key_id else None
        if key is None:
            raise PermissionError("the token's signing key is not published")
        return key

    async def _fetch(self) -> None:
        """Fetch the metadata and its keys; on failure keep the keys we have and try again a little later."""
        try:
            if not self.url:
                raise ValueError("no OpenID metadata URL is configured for this kind of token")
            timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(self.url) as response:
                    response.raise_for_status()
                    metadata = await response.json(content_type=None)
                jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
                if not isinstance(jwks_uri, str):
                    raise ValueError("the OpenID metadata has no jwks_uri")
                async with session.get(jwks_uri) as response:
                    response.raise_for_status()
                    keys = _keys_from(await response.json(content_type=None))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as err:
            self._fresh_until = self._clock() + FAILED_FETCH_INTERVAL_SECONDS
            log.warning("could not fetch the token signing keys from %s: %s", self.url, str(err)[:200] or type(err).__name__)
            return
        self._keys = keys
        self._fresh_until = self._clock() + KEYS_MAX_AGE_SECONDS


_by_url: dict[str | None, SigningKeys] = {}


def signing_keys_for(url: str | None) -> SigningKeys:
    """The one SigningKeys of a metadata URL in this process."""
    if url not in _by_url:
        _by_url[url] = SigningKeys(url)
    return _by_url[url]

