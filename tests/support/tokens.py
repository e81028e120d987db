"""A Bot Framework token-service stand-in: OpenID metadata and signing keys on loopback, and token minting."""

from __future__ import annotations

import json
import time
import uuid

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TokenService:
    """Publishes signing keys (endorsed for msteams) and signs tokens with the newest; it can rotate them."""

    def __init__(self) -> None:
        self.key = _key()
        self.kid = uuid.uuid4().hex
        self.published: dict[str, rsa.RSAPrivateKey] = {self.kid: self.key}
        self.url = ""
        self.metadata_fetches = 0
        self.key_fetches = 0
        self.unendorsed: set[str] = set()  # key ids published without endorsements

    def rotate(self, drop_old: bool = False) -> str:
        """Publish a new key and sign with it from now on; the old keys stay published unless dropped. Its kid."""
        if drop_old:
            self.published.clear()
        self.key, self.kid = _key(), uuid.uuid4().hex
        self.published[self.kid] = self.key
        return self.kid

    def app(self) -> web.Application:
        """Serves /.well-known/openidconfiguration and /keys like login.botframework.com."""
        app = web.Application()

        async def metadata(_: web.Request) -> web.Response:
            self.metadata_fetches += 1
            return web.json_response({"issuer": ISSUER, "jwks_uri": f"{self.url}/keys"})

        async def keys(_: web.Request) -> web.Response:
            self.key_fetches += 1
            published = []
            for kid, key in self.published.items():
                jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
                jwk.update({"kid": kid, "use": "sig"})
                if kid not in self.unendorsed:
                    jwk["endorsements"] = ["msteams"]
                published.append(jwk)
            return web.json_response({"keys": published})

        app.router.add_get("/.well-known/openidconfiguration", metadata)
        app.router.add_get("/keys", keys)
        return app

    @property
    def metadata_url(self) -> str:
        """What BOT_OPENID_METADATA_URL points at."""
        return f"{self.url}/.well-known/openidconfiguration"

    def token(self, audience: str, service_url: str, *, issuer: str = ISSUER, expires_in: int | None = 3600,
              key: rsa.RSAPrivateKey | None = None, kid: str | None = None) -> str:
        """A signed channel token; every argument can be made wrong on purpose (expires_in=None: no `exp`)."""
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "serviceurl": service_url, "nbf": now - 60, "iat": now - 60}
        if expires_in is not None:
            claims["exp"] = now + expires_in
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def publish_unendorsed(self) -> str:
        """Publish one more key, without endorsements (so not for Teams), and return its id; signing stays as is."""
        key, kid = _key(), uuid.uuid4().hex
        self.published[kid] = key
        self.unendorsed.add(kid)
        return kid

    def foreign_key(self) -> rsa.RSAPrivateKey:
        """A key the bot does not trust."""
        return _key()
