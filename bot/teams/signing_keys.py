"""botbuilder's token validation reads its signing keys through bot/web/signing_keys.py.

botbuilder 4.17.1 keeps the keys of each OpenID metadata URL in `_OpenIdMetadata`
(botframework/connector/auth/jwt_token_extractor.py). That class fetches them with a blocking
`requests.get` (no timeout) on the event loop, raises IndexError for a key id it does not know instead
of refusing the token, and looks for a new key at most once an hour. `install()` replaces it, for every
metadata URL, with the shared `SigningKeys` (fetched with aiohttp, again on an unknown key id at most once a
minute, an unpublished key id refused with PermissionError). botbuilder checks a key's endorsements only
when it lists some; here a key not endorsed for Teams is refused as well, as the Agents SDK adapter does.
"""

from __future__ import annotations

from botframework.connector.auth import JwtTokenExtractor

from ..web.signing_keys import SigningKey, SigningKeys, signing_keys_for

TEAMS = "msteams"


class TeamsKeys:
    """The keys of one metadata URL that are endorsed for Teams, as botbuilder's token extractor asks for them."""

    def __init__(self, keys: SigningKeys) -> None:
        self._keys = keys

    async def get(self, key_id: str | None) -> SigningKey:
        """The key a token names; PermissionError when it is not published or not endorsed for Teams."""
        key = await self._keys.get(key_id)
        if TEAMS not in key.endorsements:
            raise PermissionError("the token's signing key is not endorsed for Teams")
        return key


def teams_keys_for(url: str | None) -> TeamsKeys:
    """The Teams-endorsed keys of a metadata URL (one shared SigningKeys per URL underneath)."""
    return TeamsKeys(signing_keys_for(url))


def install() -> None:
    """Make botbuilder's token validation read keys through SigningKeys; calling it again changes nothing."""
    # JwtTokenExtractor looks its metadata up through this static method on every token it validates.
    JwtTokenExtractor.get_open_id_metadata = staticmethod(teams_keys_for)
