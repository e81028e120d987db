"""botbuilder's token validation reads its signing keys through bot/web/signing_keys.py.

botbuilder 4.17.1 keeps the keys of each OpenID metadata URL in `_OpenIdMetadata`
(botframework/connector/auth/jwt_token_extractor.py). That class fetches them with a blocking
`requests.get` (no timeout) on the event loop, raises IndexError for a key id it does not know instead
of refusing the token, and looks for a new key at most once an hour. `install()` replaces it, for every
metadata URL, with the shared `SigningKeys` (fetched with aiohttp, again on an unknown key id at most once a
minute, an unpublished key id refused with PermissionError).
"""

from __future__ import annotations

from botframework.connector.auth import JwtTokenExtractor

from ..web.signing_keys import signing_keys_for


def install() -> None:
    """Make botbuilder's token validation read keys through SigningKeys; calling it again changes nothing."""
    # JwtTokenExtractor looks its metadata up through this static method on every token it validates.
    JwtTokenExtractor.get_open_id_metadata = staticmethod(signing_keys_for)
