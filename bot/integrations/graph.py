"""Microsoft Graph through msal: the only module that talks to Graph or Entra ID; app-only and read-only.

Sign-in uses one msal application per client, so msal's token cache serves every call until the token
nears expiry: a `ConfidentialClientApplication` with the client secret, or, without a secret, a
`ManagedIdentityClient` for a user-assigned managed identity. msal is synchronous, so it runs in a thread.

msal only accepts https authorities and learns the token endpoint from the authority's discovery
document. Tests therefore keep the real authority and pass a requests session (`login_session`) that
delivers msal's requests to a loopback stand-in; no test switch lives in this module.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, Awaitable, Callable
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import msal
import requests
from yarl import URL

from ..domain.errors import DomainError
from ..domain.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

# The token's audience is Graph itself, whatever graph_url points at (tests point it at loopback).
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_SCOPE = GRAPH_RESOURCE + "/.default"
# Application permissions each call needs; named in errors so an admin knows what to grant.
MEMBERS_PERMISSION = "GroupMember.Read.All"
MAILBOX_PERMISSION = "MailboxSettings.Read"
AUTO_REPLY_STATUSES = ("disabled", "alwaysEnabled", "scheduled")
USER_TYPE = "#microsoft.graph.user"
_EXTRA_DIGITS = re.compile(r"(\.\d{6})\d+")
# Reads are safe to repeat; the budget keeps a roster-wide import from stalling on one throttled mailbox.
GRAPH_POLICY = RetryPolicy(attempts=4, base=0.5, cap=10.0, budget=15.0)
# Entra's error descriptions carry trace ids and timestamps after the first line; the first line is the useful part.
_DETAIL_LIMIT = 300
# Graph gives mailbox times in UTC unless the mailbox owner's zone leaks through as a Windows name;
# these are the CLDR mappings for the zones a European team meets.
_WINDOWS_ZONES = {
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "GTB Standard Time": "Europe/Bucharest",
    "FLE Standard Time": "Europe/Kiev",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Turkey Standard Time": "Europe/Istanbul",
    "Russian Standard Time": "Europe/Moscow",
    "Israel Standard Time": "Asia/Jerusalem",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "Coordinated Universal Time": "UTC",
    "UTC": "UTC",
}


@dataclass(frozen=True)
class GraphConfig:
    """Which tenant and app registration the bot signs in with; without a secret it uses a managed identity."""

    tenant_id: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    # A user-assigned managed identity's client id; when empty, client_id is taken (as with BOT_TYPE=UserAssignedMSI).
    managed_identity_client_id: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"

    def __post_init__(self) -> None:
        # msal accepts https authorities only; saying so at start-up beats a vague sign-in failure later.
        if not self.authority_host.startswith("https://"):
            raise ValueError(f"the Entra authority host must be an https URL, got {self.authority_host!r}")
        if self.client_secret and not (self.tenant_id and self.client_id):
            raise ValueError("a client secret needs a tenant id and a client id")
        if not self.client_secret and not (self.managed_identity_client_id or self.client_id):
            raise ValueError("without a client secret, a managed identity client id is needed")

    @property
    def authority(self) -> str:
        """The Entra authority for the tenant."""
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    @property
    def uses_managed_identity(self) -> bool:
        """True when no client secret is configured."""
        return not self.client_secret


@dataclass(frozen=True)
class GraphUser:
    """A user as Graph lists them: Entra object id, display name and mail (or UPN when there is no mail)."""

    id: str
    display_name: str
    email: str


@dataclass(frozen=True)
class AutoReplies:
    """A mailbox's automatic replies: status, and the scheduled window as aware datetimes."""

    status: str
    start: datetime | None
    end: datetime | None


class GraphError(DomainError):
    """Graph answered, but not with what was asked for (404, 400, an unreadable answer)."""


class GraphUnavailable(GraphError):
    """Graph or Entra ID did not answer usefully now (network, timeout, 429, 5xx); later may work."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GraphForbidden(GraphError):
    """Graph refused one resource (403): the app lacks a permission, or a policy keeps it out of that mailbox."""

    def __init__(self, message: str, permission: str, detail: str = "") -> None:
        super().__init__(message)
        self.permission = permission
        # Graph's own words (ErrorAccessDenied, Authorization_RequestDenied): for the log, not for people.
        self.detail = detail


class GraphSignInFailed(GraphError):
    """Entra ID refused the app's credentials, or Graph refused its token (401); no call can work until fixed."""


class GraphClient:
    """App-only, read-only Graph calls over one msal application and one aiohttp session."""

    def __init__(
        self,
        config: GraphConfig,
        *,
        login_session: requests.Session | None = None,
        session_factory: Callable[..., aiohttp.ClientSession] = aiohttp.ClientSession,
        retry: RetryPolicy = GRAPH_POLICY,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self._base = config.graph_url.rstrip("/")
        self._own_login_session = login_session is None
        self._login_session = login_session or _login_session(timeout)
        self._session_factory = session_factory
        self._retry = retry
        self._timeout = timeout
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        # Built on first use: building a ConfidentialClientApplication already fetches the tenant's discovery document.
        self._app: msal.ConfidentialClientApplication | msal.ManagedIdentityClient | None = None
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the HTTP sessions; a later call opens a new Graph session."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        if self._own_login_session:
            self._login_session.close()

    async def team_members(self, group_id: str) -> list[GraphUser]:
        """The users in the team's Microsoft 365 group, every page; nested groups and devices are left out."""
        url: str | None = f"{self._base}/v1.0/groups/{quote(group_id, safe='')}/members"
        params: dict[str, str] | None = {"$select": "id,displayName,mail,userPrincipalName", "$top": "999"}
        what = f"reading the members of group {group_id}"
        users: list[GraphUser] = []
        seen: set[str] = set()
        while url:
            page = await self._get(url, what, MEMBERS_PERMISSION, params)
            values = page.get("value")
            if not isinstance(values, list):
                raise GraphError("Microsoft Graph's answer has no member list")
            users += [_user(item) for item in values if _is_user(item)]
            url, params = self._next_page(page.get("@odata.nextLink"), seen), None
        return users

    async def automatic_replies(self, user_id: str) -> AutoReplies:
        """A user's Outlook automatic replies (out of office)."""
        url = f"{self._base}/v1.0/users/{quote(user_id, safe='')}/mailboxSettings/automaticRepliesSetting"
        what = f"reading the automatic replies of user {user_id}"
        payload = await self._get(url, what, MAILBOX_PERMISSION)
        status = _status(payload.get("status"))
        if status is None:
            raise GraphError(f"unknown automatic replies status {payload.get('status')!r}")
        try:
            start = _when(payload.get("scheduledStartDateTime"))
            end = _when(payload.get("scheduledEndDateTime"))
        except ValueError as error:
            raise GraphError(f"unreadable automatic replies schedule: {error}") from error
        return AutoReplies(status, start, end)

    # Paging

    def _next_page(self, link: Any, seen: set[str]) -> str | None:
        if not link:
            return None
        # The link is followed with the bearer token, so it must stay on Graph; a repeated link would loop forever.
        if not isinstance(link, str) or not link.startswith(self._base + "/"):
            raise GraphError(f"Microsoft Graph's next page is not on {self._base}")
        if link in seen:
            raise GraphError("Microsoft Graph repeated a page")
        seen.add(link)
        return link

    # Tokens

    async def _token(self) -> str:
        # One acquisition at a time, so concurrent calls share one token and one msal application.
        async with self._token_lock:
            try:
                result = await asyncio.to_thread(self._acquire)
            except (OSError, json.JSONDecodeError) as error:
                # requests' errors are OSErrors; an unreadable answer is a proxy's or an outage's page.
                raise GraphUnavailable(f"Entra ID did not answer usefully ({type(error).__name__})") from error
            except ValueError as error:
                raise GraphSignInFailed(self._redact(f"signing in to Microsoft Graph failed: {self._refusal(error)}")) from error
            except Exception as error:  # noqa: BLE001 - msal lets its HTTP layer's errors and its own through
                detail = self._redact(_first_line(str(error)))
                raise GraphUnavailable(f"signing in to Microsoft Graph failed ({type(error).__name__}: {detail})") from error
        token = result.get("access_token") if isinstance(result, dict) else None
        if isinstance(token, str) and token:
            return token
        raise self._sign_in_error(result if isinstance(result, dict) else {})

    def _acquire(self) -> dict:
        # Runs in a worker thread, under the token lock.
        if self._app is None:
            self._app = self._build_app()
        if isinstance(self._app, msal.ManagedIdentityClient):
            return self._app.acquire_token_for_client(resource=GRAPH_RESOURCE)
        return self._app.acquire_token_for_client(scopes=[GRAPH_SCOPE])

    def _build_app(self) -> msal.ConfidentialClientApplication | msal.ManagedIdentityClient:
        config = self._config
        if config.uses_managed_identity:
            identity = msal.UserAssignedManagedIdentity(client_id=config.managed_identity_client_id or config.client_id)
            return msal.ManagedIdentityClient(identity, http_client=self._login_session)
        return msal.ConfidentialClientApplication(
            config.client_id,
            authority=config.authority,
            client_credential=config.client_secret,
            http_client=self._login_session,
        )

    def _refusal(self, error: ValueError) -> str:
        if self._config.uses_managed_identity:
            return f"managed identity refused ({_first_line(str(error))})"
        # msal raises ValueError when Entra refuses the tenant's discovery document; its own text is a paragraph.
        return f"Entra ID does not know tenant {self._config.tenant_id}"

    def _sign_in_error(self, result: dict) -> GraphError:
        error = str(result.get("error") or "no token")
        detail = _first_line(str(result.get("error_description") or ""))
        message = self._redact(f"signing in to Microsoft Graph failed: {error}" + (f" ({detail})" if detail else ""))
        if error in {"temporarily_unavailable", "server_error"}:
            return GraphUnavailable(message)
        return GraphSignInFailed(message)

    def _redact(self, text: str) -> str:
        # Entra never echoes a secret, but a proxy's error page might; it must not reach a log or a chat.
        secret = self._config.client_secret
        return text.replace(secret, "[redacted]") if secret else text

    # HTTP

    def _session_now(self) -> aiohttp.ClientSession:
        # Created on first use because aiohttp sessions belong to the running event loop.
        if self._session is None or self._session.closed:
            self._session = self._session_factory(
                timeout=aiohttp.ClientTimeout(total=self._timeout), headers={"Accept": "application/json"}
            )
        return self._session

    async def _get(self, url: str, what: str, permission: str, params: dict[str, str] | None = None) -> dict:
        # Error messages say what went wrong, not what was being done: callers name the person or team.
        waited = 0.0
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return await self._get_once(url, permission, params)
            except GraphUnavailable as error:
                delay = self._retry.delay(attempt, error.retry_after)
                if attempt == self._retry.attempts or waited + delay > self._retry.budget:
                    log.warning("%s: %s; giving up after %d attempts", what, error, attempt)
                    raise
                log.warning("%s: %s; retry %d in %.2fs", what, error, attempt, delay)
                waited += delay
                await self._sleep(delay)
            except GraphError as error:
                detail = f" (Graph said {error.detail})" if isinstance(error, GraphForbidden) else ""
                log.warning("%s: %s%s", what, error, detail)
                raise
        raise AssertionError("unreachable")

    async def _get_once(self, url: str, permission: str, params: dict[str, str] | None) -> dict:
        token = await self._token()
        # Next links come encoded already and path parts are quoted above; encoding again would break skip tokens.
        target = URL(url, encoded=True)
        try:
            async with self._session_now().get(
                target, params=params, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
            ) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise GraphUnavailable(f"Microsoft Graph did not answer ({type(error).__name__})") from error
        payload = _json_or_none(raw)
        if 200 <= status < 300 and isinstance(payload, dict):
            return payload
        raise _status_error(status, headers.get("Retry-After"), payload, permission)


def _login_session(timeout: float) -> requests.Session:
    # msal's own default, plus a timeout on every request so a hung login never pins a worker thread.
    session = requests.Session()
    session.request = functools.partial(session.request, timeout=timeout)  # type: ignore[method-assign]
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _status_error(status: int, retry_after: str | None, payload: Any, permission: str) -> GraphError:
    code, message = _graph_error(payload)
    said = f"{code}: {message}" if code or message else "no details"
    if 200 <= status < 300:
        return GraphError("Microsoft Graph's answer is not a JSON object")
    if status == 401:
        return GraphSignInFailed(f"Microsoft Graph refused the app's token ({said})")
    if status == 403:
        # Graph's own words never name the permission; this message does, so an admin knows what to grant.
        return GraphForbidden(f"missing permission {permission}", permission, said)
    if status in (408, 429) or status >= 500:
        return GraphUnavailable(f"Microsoft Graph answered {status} ({said})", parse_retry_after(retry_after))
    if status == 404:
        return GraphError(f"not found in Microsoft Graph ({said})")
    return GraphError(f"Microsoft Graph answered {status} ({said})")


def _graph_error(payload: Any) -> tuple[str, str]:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), _first_line(str(error.get("message") or ""))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:_DETAIL_LIMIT] if text.strip() else ""


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _is_user(item: Any) -> bool:
    # Group members are directory objects of any kind; only users can be on the roster.
    return isinstance(item, dict) and isinstance(item.get("id"), str) and item.get("@odata.type", USER_TYPE) == USER_TYPE


def _user(item: dict) -> GraphUser:
    email = item.get("mail") or item.get("userPrincipalName") or ""
    return GraphUser(id=item["id"], display_name=item.get("displayName") or email or item["id"], email=email)


def _status(value: Any) -> str | None:
    # Graph documents camelCase values; older mailboxes have been seen answering in PascalCase.
    if not isinstance(value, str):
        return None
    return next((status for status in AUTO_REPLY_STATUSES if status.lower() == value.lower()), None)


def _when(value: Any) -> datetime | None:
    """A dateTimeTimeZone as an aware datetime; None when absent."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    # Graph writes seven fractional digits; datetime takes at most six.
    moment = datetime.fromisoformat(_EXTRA_DIGITS.sub(r"\1", str(value["dateTime"])))
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=_zone(str(value.get("timeZone") or "UTC")))


def _zone(name: str) -> tzinfo:
    if name.upper() in {"UTC", "Z", "ETC/UTC"}:
        return timezone.utc
    try:
        return ZoneInfo(_WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
