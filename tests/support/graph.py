"""Entra ID and Microsoft Graph stand-ins on loopback: app-only tokens, group members with paging, automatic replies.

msal insists on an https authority and learns the token endpoint from the authority's discovery document, so
the login stand-in serves plain HTTP on loopback and `LoginRedirect` (a requests session handed to msal) sends
whatever msal addresses to https://login.microsoftonline.com there. The authority string msal sees stays the
real one, so the test also checks that the client builds it correctly.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import requests
from aiohttp import web

PUBLIC_LOGIN = "https://login.microsoftonline.com"
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_SCOPE = GRAPH_RESOURCE + "/.default"
USER_TYPE = "#microsoft.graph.user"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    # The shape Graph uses for every error.
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def _login_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description, "error_codes": [0]}, status=status)


class LoginRedirect(requests.Session):
    """A requests session for msal that sends requests for the public login host to the loopback stand-in."""

    def __init__(self, loopback: str, public: str = PUBLIC_LOGIN) -> None:
        super().__init__()
        self.loopback = loopback.rstrip("/")
        self.public = public.rstrip("/")
        self.seen: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Rewrite the URL when it addresses the public login host; anything else would leave the machine."""
        text = url.decode() if isinstance(url, bytes) else url
        if not text.startswith(self.public + "/"):
            raise requests.ConnectionError(f"the test login session only reaches {self.public}, not {text}")
        self.seen.append(text)
        kwargs.setdefault("timeout", 5)
        return super().request(method, self.loopback + text[len(self.public):], *args, **kwargs)


@dataclass
class Entra:
    """The Entra ID token service for one tenant and one app registration, plus an App Service managed identity endpoint."""

    tenant_id: str = "7d2e5a4c-1111-4b7a-9c9d-0123456789ab"
    client_id: str = "0f1e2d3c-2222-4a5b-8c7d-abcdefabcdef"
    client_secret: str = "graph-secret-do-not-log"
    managed_identity_client_id: str = "5a6b7c8d-3333-4e5f-9a0b-fedcbafedcba"
    identity_header: str = "identity-header-do-not-log"
    expires_in: int = 3600
    token_requests: int = 0
    discovery_requests: int = 0
    managed_identity_requests: int = 0
    issued: set[str] = field(default_factory=set)
    down: bool = False
    url: str = ""
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        """The aiohttp app that serves the login routes."""
        app = web.Application()
        app.router.add_get("/common/discovery/instance", self._instance_discovery)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_get("/msi/token", self._managed_identity)
        return app

    def _issue(self) -> str:
        token = f"graph-token-{next(self._numbers)}-{secrets.token_hex(8)}"
        self.issued.add(token)
        return token

    async def _instance_discovery(self, request: web.Request) -> web.Response:
        # msal asks for the authority's aliases after a refused token request, to search its cache under them.
        self.discovery_requests += 1
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        aliases = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]
        return web.json_response({
            "tenant_discovery_endpoint": f"{PUBLIC_LOGIN}/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": aliases[0], "preferred_cache": aliases[1], "aliases": aliases}],
        })

    async def _discovery(self, request: web.Request) -> web.Response:
        self.discovery_requests += 1
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        tenant = request.match_info["tenant"]
        if tenant != self.tenant_id:
            return _login_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        base = f"{PUBLIC_LOGIN}/{tenant}"
        return web.json_response({
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        })

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        form = await request.post()
        if request.match_info["tenant"] != self.tenant_id:
            return _login_error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        if form.get("grant_type") != "client_credentials":
            return _login_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        if form.get("client_id") != self.client_id:
            return _login_error(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
        if form.get("client_secret") != self.client_secret:
            return _login_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        if form.get("scope") != GRAPH_SCOPE:
            return _login_error(400, "invalid_scope", f"AADSTS1002012: The provided value for scope {form.get('scope')} is not valid.")
        return web.json_response({"token_type": "Bearer", "expires_in": self.expires_in, "ext_expires_in": self.expires_in,
                                  "access_token": self._issue()})

    async def _managed_identity(self, request: web.Request) -> web.Response:
        # The App Service flavour (IDENTITY_ENDPOINT + IDENTITY_HEADER), which msal picks from the environment.
        self.managed_identity_requests += 1
        query = request.query
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return web.json_response({"statusCode": 400, "message": "Unable to authenticate the request"}, status=400)
        if query.get("resource") != GRAPH_RESOURCE or query.get("client_id") != self.managed_identity_client_id:
            return web.json_response({"statusCode": 400, "message": "No managed identity for this client id and resource"}, status=400)
        return web.json_response({"access_token": self._issue(), "expires_on": str(int(time.time()) + self.expires_in),
                                  "resource": GRAPH_RESOURCE, "token_type": "Bearer", "client_id": query["client_id"]})


@dataclass
class Received:
    """One request that reached the Graph stand-in."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class Graph:
    """Microsoft Graph v1.0 for group members and automatic replies; tokens must come from the given Entra stand-in."""

    entra: Entra
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Objects in a group that are not users (nested groups, devices); Graph lists them among the members.
    other_members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 2
    # Users whose mailbox settings answer 403, as when the app lacks MailboxSettings.Read or a policy excludes them.
    forbidden: set[str] = field(default_factory=set)
    # user id -> how many more times reading their automatic replies answers 429.
    throttled: dict[str, int] = field(default_factory=dict)
    retry_after: str = "1"
    # Every request answers 503, like a Graph outage.
    down: bool = False
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        """The aiohttp app that serves the Graph routes."""
        app = web.Application(middlewares=[self._gate()])
        app.router.add_get("/v1.0/groups/{group}/members", self._members)
        app.router.add_get("/v1.0/users/{user}/mailboxSettings/automaticRepliesSetting", self._automatic_replies)
        return app

    def add_user(self, user_id: str, name: str, mail: str | None = None, group: str | None = None) -> None:
        """A user in the directory, with a mailbox whose automatic replies are off, optionally in a group."""
        upn = name.lower().replace(" ", ".") + "@liefery.example"
        self.users[user_id] = {"id": user_id, "displayName": name, "mail": mail, "userPrincipalName": upn}
        self.replies[user_id] = {"status": "disabled"}
        if group is not None:
            self.groups.setdefault(group, []).append(user_id)

    def schedule(self, user_id: str, start: str, end: str, time_zone: str = "UTC") -> None:
        """Scheduled automatic replies from start to end (Graph's local dateTime strings in that zone)."""
        self.replies[user_id] = {"status": "scheduled", "start": (start, time_zone), "end": (end, time_zone)}

    def requests_to(self, path_part: str) -> list[Received]:
        """The recorded requests whose path contains this text."""
        return [r for r in self.received if path_part in r.path]

    def _gate(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.received.append(Received(request.method, request.path, dict(request.query),
                                          request.headers.get("Authorization")))
            if self.down:
                return _graph_error(503, "serviceNotAvailable", "The service is temporarily unavailable.")
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme != "Bearer" or token not in self.entra.issued:
                return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
            return await handler(request)

        return gate

    async def _members(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        if group not in self.groups:
            return _graph_error(404, "Request_ResourceNotFound", f"Resource '{group}' does not exist.")
        objects = [self._user_object(u) for u in self.groups[group]] + self.other_members.get(group, [])
        start = _offset(request.query.get("$skiptoken"))
        page = objects[start:start + self.page_size]
        answer: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#directoryObjects", "value": page}
        if start + self.page_size < len(objects):
            # Real skip tokens are opaque; the link repeats the query, as Graph's does.
            token = base64.urlsafe_b64encode(f"offset:{start + self.page_size}".encode()).decode()
            select = request.query.get("$select", "")
            answer["@odata.nextLink"] = f"{self.url}/v1.0/groups/{group}/members?$select={select}&$skiptoken={token}"
        return web.json_response(answer)

    def _user_object(self, user_id: str) -> dict[str, Any]:
        return {"@odata.type": USER_TYPE, **self.users[user_id]}

    async def _automatic_replies(self, request: web.Request) -> web.Response:
        user = request.match_info["user"]
        if self.throttled.get(user, 0) > 0:
            self.throttled[user] -= 1
            return _graph_error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                headers={"Retry-After": self.retry_after})
        if user in self.forbidden:
            return _graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if user not in self.users:
            return _graph_error(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        setting = self.replies[user]
        # Graph always sends both dates, even when the replies are off; then they are left-overs.
        start, start_zone = setting.get("start", ("2025-01-01T00:00:00.0000000", "UTC"))
        end, end_zone = setting.get("end", ("2025-01-02T00:00:00.0000000", "UTC"))
        return web.json_response({
            "@odata.context": f"{self.url}/v1.0/$metadata#users('{user}')/mailboxSettings/automaticRepliesSetting",
            "status": setting["status"],
            "externalAudience": "all",
            "internalReplyMessage": "<html><body>Out of office</body></html>",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": start, "timeZone": start_zone},
            "scheduledEndDateTime": {"dateTime": end, "timeZone": end_zone},
        })


def _offset(skip_token: str | None) -> int:
    if not skip_token:
        return 0
    return int(base64.urlsafe_b64decode(skip_token.encode()).decode().split(":", 1)[1])
