"""Jira Cloud REST v3: the only module that talks to Jira; each call is one HTTP attempt, callers retry."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import aiohttp

from ..domain.errors import DomainError
from ..domain.retry import RETRYABLE_STATUS, parse_retry_after

log = logging.getLogger(__name__)

# Jira counts summary length in Java chars (UTF-16 code units), so an emoji counts twice.
SUMMARY_LIMIT = 255
# Enough of Jira's own words to act on, without flooding a log line or a chat reply.
_DETAIL_LIMIT = 500
_HINTS = {
    401: "check the Jira account email and API token",
    403: "the Jira account lacks permission for this",
    404: "check the Jira base URL and project",
}

Run = tuple[str, str | None]
Paragraph = str | list[Run]


@dataclass(frozen=True)
class JiraConfig:
    """Where Jira lives and which account the bot signs in with; the token stays out of repr."""

    base_url: str
    email: str
    api_token: str = field(repr=False)


@dataclass(frozen=True)
class JiraTicket:
    """An issue in Jira: its key (EDGE-1) and the page people open."""

    key: str
    url: str


class JiraUnavailable(DomainError):
    """Jira could not take the request now (network, timeout, 429, 5xx); the same request may succeed later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JiraRejected(DomainError):
    """Jira refused the request (400, 401, 403, 404); sending it again will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def adf_document(paragraphs: list[Paragraph]) -> dict:
    """An ADF document: one paragraph per item, newlines as hard breaks, (text, href) runs as links."""
    blocks = [block for block in map(_paragraph, paragraphs) if block["content"]]
    # ADF allows a paragraph without content, and Jira wants at least one block.
    return {"type": "doc", "version": 1, "content": blocks or [{"type": "paragraph"}]}


def _paragraph(item: Paragraph) -> dict:
    runs: list[Run] = [(item, None)] if isinstance(item, str) else list(item)
    inline = [node for text, href in runs for node in _inline(text, href)]
    return {"type": "paragraph", "content": _strip_breaks(inline)}


def _inline(text: str, href: str | None) -> list[dict]:
    # A link without words still has to be clickable, so it shows its address.
    text = text or href or ""
    nodes: list[dict] = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if number:
            nodes.append({"type": "hardBreak"})
        if line:
            nodes.append(_text(line, href))
    return nodes


def _text(text: str, href: str | None) -> dict:
    node: dict[str, Any] = {"type": "text", "text": text}
    if href:
        node["marks"] = [{"type": "link", "attrs": {"href": href}}]
    return node


def _strip_breaks(nodes: list[dict]) -> list[dict]:
    start, end = 0, len(nodes)
    while start < end and nodes[start]["type"] == "hardBreak":
        start += 1
    while end > start and nodes[end - 1]["type"] == "hardBreak":
        end -= 1
    return nodes[start:end]


def clean_summary(summary: str) -> str:
    """A summary Jira accepts: whitespace runs (newlines included) as one space, at most SUMMARY_LIMIT UTF-16 units."""
    text = " ".join(summary.split())
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > SUMMARY_LIMIT:
            return text[:index].rstrip()
    return text


def label_jql(label: str) -> str:
    """The JQL that finds issues with exactly this label; quotes and backslashes escaped."""
    escaped = label.replace("\\", "\\\\").replace('"', '\\"')
    return f'labels = "{escaped}"'


def _check_label(label: str) -> None:
    # Jira refuses labels with whitespace; the bot makes its labels itself, so this is a bug, not bad input.
    if not label or any(char.isspace() for char in label) or len(label) > 255:
        raise ValueError(f"not a valid Jira label: {label!r}")


class JiraClient:
    """Finds and creates Jira issues over one shared HTTP session; every method makes a single attempt."""

    def __init__(
        self,
        config: JiraConfig,
        session_factory: Callable[..., aiohttp.ClientSession] = aiohttp.ClientSession,
        timeout: float = 10.0,
    ) -> None:
        self._config = config
        self._base = config.base_url.rstrip("/")
        self._session_factory = session_factory
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session; a later call opens a new one."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def find_by_label(self, label: str) -> JiraTicket | None:
        """The issue carrying this label, or None; Jira's search lags new issues by seconds."""
        payload = await self._call(
            "GET", "/rest/api/3/search/jql", f"searching Jira for label {label}",
            params={"jql": label_jql(label), "fields": "key", "maxResults": "1"},
        )
        issues = payload.get("issues") if isinstance(payload, dict) else None
        if not isinstance(issues, list):
            raise JiraUnavailable(f"searching Jira for label {label}: unexpected answer")
        return self._ticket(issues[0], "searching Jira") if issues else None

    async def create_issue(
        self, project: str, issue_type: str, summary: str, description: dict, labels: list[str]
    ) -> JiraTicket:
        """Create one issue; not idempotent: a repeat makes a second issue (use create_once)."""
        for label in labels:
            _check_label(label)
        title = clean_summary(summary)
        if not title:
            raise ValueError("a Jira issue needs a summary")
        fields = {
            "project": {"key": project},
            "summary": title,
            "issuetype": {"name": issue_type},
            "description": description,
            "labels": list(labels),
        }
        what = f"creating a Jira {issue_type} in {project}"
        ticket = self._ticket(await self._call("POST", "/rest/api/3/issue", what, body={"fields": fields}), what)
        log.info("created Jira issue %s with labels %s", ticket.key, labels)
        return ticket

    async def create_once(
        self, project: str, issue_type: str, summary: str, description: dict, label: str
    ) -> JiraTicket:
        """The issue with this label if one exists, else a new one carrying it; safe to repeat after a lost answer."""
        _check_label(label)
        existing = await self.find_by_label(label)
        if existing is not None:
            log.info("Jira issue %s already has label %s; not creating another", existing.key, label)
            return existing
        return await self.create_issue(project, issue_type, summary, description, [label])

    def _session_now(self) -> aiohttp.ClientSession:
        # Created on first use because aiohttp sessions belong to the running event loop.
        if self._session is None or self._session.closed:
            authorization = aiohttp.encode_basic_auth(self._config.email, self._config.api_token)
            self._session = self._session_factory(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"Authorization": authorization, "Accept": "application/json"},
            )
        return self._session

    async def _call(
        self, method: str, path: str, what: str, *, params: dict[str, str] | None = None, body: dict | None = None
    ) -> Any:
        try:
            # No redirects: a POST turned into a GET by a redirect would silently create nothing.
            async with self._session_now().request(
                method, self._base + path, params=params, json=body, allow_redirects=False
            ) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise JiraUnavailable(f"{what}: Jira did not answer ({type(error).__name__})") from error
        payload = _json_or_none(raw)
        self._raise_for_status(status, headers, payload, what)
        return payload

    def _raise_for_status(self, status: int, headers: Mapping[str, str], payload: Any, what: str) -> None:
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            raise JiraRejected(f"{what}: Jira redirected to {headers.get('Location')}; check the base URL", status)
        message = self._redact(f"{what}: Jira answered {status}{_detail(status, payload)}")
        if status in RETRYABLE_STATUS or status >= 500:
            raise JiraUnavailable(message, parse_retry_after(headers.get("Retry-After")))
        raise JiraRejected(message, status)

    def _ticket(self, item: Any, what: str) -> JiraTicket:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key:
            # On a create the issue may exist anyway; create_once finds it on the next attempt.
            raise JiraUnavailable(f"{what}: Jira's answer has no issue key")
        return JiraTicket(key=key, url=f"{self._base}/browse/{key}")

    def _redact(self, text: str) -> str:
        # Jira never echoes credentials, but a proxy's error page might; the token must not reach a log.
        token = self._config.api_token
        return text.replace(token, "[redacted]") if token else text


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _detail(status: int, payload: Any) -> str:
    parts = []
    if isinstance(payload, dict):
        parts += [str(message) for message in payload.get("errorMessages") or []]
        errors = payload.get("errors")
        if isinstance(errors, dict):
            parts += [f"{name}: {message}" for name, message in errors.items()]
    if status in _HINTS:
        parts.append(_HINTS[status])
    text = "; ".join(parts)[:_DETAIL_LIMIT]
    return f": {text}" if text else ""
