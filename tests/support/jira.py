"""A Jira Cloud stand-in on loopback: REST v3 create and JQL search, checked the way Jira checks them, with faults."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# ADF: the block and inline nodes and marks this stand-in knows; anything else is refused like Jira refuses it.
BLOCK_NODES = frozenset({"paragraph", "heading", "rule"})
INLINE_NODES = frozenset({"text", "hardBreak", "mention"})
MARKS = frozenset({"link", "strong", "em", "code", "strike", "underline"})
CREATE_FIELDS = frozenset({"project", "summary", "issuetype", "description", "labels"})
SUMMARY_LIMIT = 255
_LABEL_JQL = re.compile(r'^\s*labels\s*=\s*"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
_SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


def adf_problems(doc: Any) -> list[str]:
    """Why a value is not a valid ADF document; empty when it is."""
    if not isinstance(doc, dict):
        return ["document: must be an object"]
    problems = []
    if doc.get("type") != "doc":
        problems.append("document: type must be doc")
    if doc.get("version") != 1:
        problems.append("document: version must be 1")
    content = doc.get("content")
    if not isinstance(content, list):
        return problems + ["document: content must be a list"]
    for index, block in enumerate(content):
        problems += _block_problems(block, f"content[{index}]")
    return problems


def _block_problems(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_NODES:
        return [f"{where}: not a block node: {_short(block)}"]
    kind = block["type"]
    if kind == "rule":
        return [f"{where}: rule has no content"] if "content" in block else []
    problems = []
    if kind == "heading" and (block.get("attrs") or {}).get("level") not in range(1, 7):
        problems.append(f"{where}: heading needs attrs.level 1 to 6")
    content = block.get("content", [])
    if not isinstance(content, list):
        return problems + [f"{where}: content must be a list"]
    for index, node in enumerate(content):
        problems += _inline_problems(node, f"{where}.content[{index}]")
    return problems


def _inline_problems(node: Any, where: str) -> list[str]:
    if not isinstance(node, dict) or node.get("type") not in INLINE_NODES:
        return [f"{where}: not an inline node: {_short(node)}"]
    if node["type"] == "mention":
        attrs = node.get("attrs")
        return [] if isinstance(attrs, dict) and _nonempty(attrs.get("id")) else [f"{where}: mention needs attrs.id"]
    if node["type"] == "hardBreak":
        return [f"{where}: hardBreak has no text or content"] if {"text", "content"} & node.keys() else []
    problems = [] if _nonempty(node.get("text")) else [f"{where}: text node needs non-empty text"]
    marks = node.get("marks", [])
    if not isinstance(marks, list):
        return problems + [f"{where}: marks must be a list"]
    for index, mark in enumerate(marks):
        problems += _mark_problems(mark, f"{where}.marks[{index}]")
    return problems


def _mark_problems(mark: Any, where: str) -> list[str]:
    if not isinstance(mark, dict) or mark.get("type") not in MARKS:
        return [f"{where}: unknown mark: {_short(mark)}"]
    if mark["type"] == "link" and not (isinstance(mark.get("attrs"), dict) and _nonempty(mark["attrs"].get("href"))):
        return [f"{where}: link mark needs attrs.href"]
    return []


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _short(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


def utf16_length(text: str) -> int:
    """Length as Java counts it, which is how Jira measures the summary."""
    return len(text.encode("utf-16-le")) // 2


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The (login, password) in a Basic Authorization header; None when it is not one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, colon, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except ValueError:
        return None
    return (login, password) if colon else None


def label_from_jql(jql: str) -> str | None:
    """The label in `labels = "x"`, unescaped; None for any other JQL."""
    match = _LABEL_JQL.match(jql)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else None


def _errors(messages: list[str] | None = None, errors: dict[str, str] | None = None, status: int = 400) -> web.Response:
    return web.json_response({"errorMessages": messages or [], "errors": errors or {}}, status=status)


@dataclass
class Received:
    """One request that reached the stand-in, faulted or not."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    authorization: str | None


@dataclass
class Issue:
    """A stored issue; `hidden_for` searches still miss it, like Jira's eventually consistent index."""

    id: str
    key: str
    fields: dict
    hidden_for: int = 0
    # Searches miss it until then (time.monotonic()), like Jira's index catching up after some seconds.
    hidden_until: float = 0.0
    created_at: float = field(default_factory=time.monotonic)

    @property
    def labels(self) -> list[str]:
        """The issue's labels."""
        return self.fields.get("labels") or []


@dataclass
class Jira:
    """Jira Cloud for one project and one account; records requests and injects faults on demand."""

    email: str = "support-bot@liefery.example"
    api_token: str = "ATATT3xFfGF0-test-token-do-not-log"
    project: str = "EDGE"
    issue_types: frozenset[str] = frozenset({"Task", "Bug", "Support"})
    received: list[Received] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # Every request answers 503, like an Atlassian outage.
    down: bool = False
    # The next create stores the issue, then the answer is lost: "close" drops the connection, "504" is a gateway timeout.
    drop_response_after_create_next: bool = False
    drop_with: str = "close"
    # Seconds to wait before answering anything, to provoke client timeouts.
    delay: float = 0.0
    # How many searches miss a new issue; real Jira search lags writes by seconds.
    search_lag: int = 0
    # The same in seconds: a new issue is missing from searches for this long.
    search_lag_seconds: float = 0.0
    # The next this-many creates store the issue and lose the answer (as drop_response_after_create_next does once).
    lose_creates: int = 0
    # Every request a fault hit: (monotonic time, method, path, what happened).
    faulted: list[tuple[float, str, str, str]] = field(default_factory=list)
    url: str = ""
    _failures: list[tuple[int, str | None]] = field(default_factory=list)
    # Windows (start, end, status, Retry-After) in time.monotonic() during which every request fails.
    _windows: list[tuple[float, float, int, str | None]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(10001))
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        """The aiohttp app that serves the Jira routes."""
        app = web.Application(middlewares=[self._gate()])
        app.router.add_post("/rest/api/3/issue", self._create)
        app.router.add_get("/rest/api/3/search/jql", self._search)
        app.router.add_route("*", "/rest/api/3/search", self._search_gone)
        return app

    def fail_next(self, n: int = 1, status: int = 503, retry_after: str | None = "2") -> None:
        """Answer the next n requests with this status (and Retry-After when given), storing nothing."""
        self._failures.extend([(status, retry_after)] * n)

    def fail_for(self, seconds: float, status: int = 503, retry_after: str | None = None) -> None:
        """Answer every request with this status (and Retry-After when given) for the next `seconds`, storing nothing."""
        now = time.monotonic()
        self._windows.append((now, now + seconds, status, retry_after))

    def lose_next_creates(self, n: int = 1) -> None:
        """The next n creates store their issue, then the answer is lost (see drop_with)."""
        self.lose_creates += n

    def labelled(self, label: str) -> list[Issue]:
        """Every stored issue with this label, searchable yet or not."""
        return [issue for issue in self.issues if label in issue.labels]

    def issue(self, key: str) -> Issue:
        """The stored issue with this key."""
        return next(issue for issue in self.issues if issue.key == key)

    def requests_to(self, method: str, path: str) -> list[Received]:
        """The recorded requests with this method and path."""
        return [r for r in self.received if r.method == method and r.path == path]

    def _gate(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            await self._record(request)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.down:
                self.faulted.append((time.monotonic(), request.method, request.path, "down: 503"))
                return web.Response(status=503, text="Service Unavailable")
            window = self._window()
            if window is not None:
                status, retry_after = window
                self.faulted.append((time.monotonic(), request.method, request.path, f"window: {status}"))
                return _injected(status, retry_after)
            if self._failures:
                self.faulted.append((time.monotonic(), request.method, request.path, f"next: {self._failures[0][0]}"))
                return self._injected_failure()
            if not self._authenticated(request):
                return _errors(["Client must be authenticated to access this resource."], status=401)
            return await handler(request)

        return gate

    async def _record(self, request: web.Request) -> None:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.received.append(
            Received(request.method, request.path, dict(request.query), body, request.headers.get("Authorization"))
        )

    def _window(self) -> tuple[int, str | None] | None:
        now = time.monotonic()
        return next(((status, after) for start, end, status, after in self._windows if start <= now < end), None)

    def _injected_failure(self) -> web.Response:
        status, retry_after = self._failures.pop(0)
        return _injected(status, retry_after)

    def _authenticated(self, request: web.Request) -> bool:
        return basic_credentials(request.headers.get("Authorization", "")) == (self.email, self.api_token)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _errors(["Unsupported Media Type"], status=415)
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return _errors(["Can not deserialize the request body: expected an object with fields"])
        errors = self._field_errors(body["fields"])
        if errors:
            return _errors(errors=errors)
        issue = self._store(body["fields"])
        if self.drop_response_after_create_next or self.lose_creates > 0:
            if self.drop_response_after_create_next:
                self.drop_response_after_create_next = False
            else:
                self.lose_creates -= 1
            self.faulted.append((time.monotonic(), request.method, request.path, f"lost the answer to {issue.key}"))
            return self._lose_answer(request)
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/3/issue/{issue.id}"}, status=201
        )

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    def _field_errors(self, fields: dict) -> dict[str, str]:
        errors = {
            name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in fields.keys() - CREATE_FIELDS
        }
        checks = {
            "project": self._project_error,
            "summary": _summary_error,
            "issuetype": self._issue_type_error,
            "description": _description_error,
            "labels": _labels_error,
        }
        for name, check in checks.items():
            problem = check(fields.get(name))
            if problem:
                errors[name] = problem
        return errors

    def _project_error(self, project: Any) -> str | None:
        key = project.get("key") if isinstance(project, dict) else None
        return None if key == self.project else "valid project is required"

    def _issue_type_error(self, issue_type: Any) -> str | None:
        name = issue_type.get("name") if isinstance(issue_type, dict) else None
        return None if name in self.issue_types else "Specify a valid issue type"

    def _store(self, fields: dict) -> Issue:
        issue = Issue(str(next(self._ids)), f"{self.project}-{next(self._numbers)}", fields, self.search_lag,
                      time.monotonic() + self.search_lag_seconds)
        self.issues.append(issue)
        return issue

    def _lose_answer(self, request: web.Request) -> web.StreamResponse:
        if self.drop_with == "504":
            return web.Response(status=504, text="<html><body>Gateway Timeout</body></html>", content_type="text/html")
        # The client sees the connection close with no status line at all.
        assert request.transport is not None
        request.transport.close()
        return web.Response(status=201)

    async def _search(self, request: web.Request) -> web.Response:
        jql = request.query.get("jql", "")
        label = label_from_jql(jql)
        if label is None:
            return _errors([f"Error in the JQL Query: the stand-in only understands labels = \"x\", not {jql!r}"])
        try:
            limit = int(request.query.get("maxResults", "50"))
        except ValueError:
            return _errors(["maxResults must be a number"])
        found = self._visible_with(label)
        page = [{"id": i.id, "key": i.key, "self": f"{self.url}/rest/api/3/issue/{i.id}"} for i in found[:limit]]
        answer: dict[str, Any] = {"issues": page, "isLast": len(found) <= limit}
        if len(found) > limit:
            answer["nextPageToken"] = f"page-after-{limit}"
        return web.json_response(answer)

    def _visible_with(self, label: str) -> list[Issue]:
        now = time.monotonic()
        found = [issue for issue in self.issues
                 if label in issue.labels and issue.hidden_for == 0 and issue.hidden_until <= now]
        for issue in self.issues:
            issue.hidden_for = max(issue.hidden_for - 1, 0)
        return found

    async def _search_gone(self, request: web.Request) -> web.Response:
        return _errors([_SEARCH_GONE], status=410)


def _injected(status: int, retry_after: str | None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return web.json_response({"errorMessages": [f"injected failure {status}"], "errors": {}}, status=status, headers=headers)


def _summary_error(summary: Any) -> str | None:
    if not _nonempty(summary) or not summary.strip():
        return "You must specify a summary of the issue."
    if "\n" in summary or "\r" in summary:
        return "Field 'summary' cannot contain newline characters."
    if utf16_length(summary) > SUMMARY_LIMIT:
        return "Summary must be less than 255 characters."
    return None


def _description_error(description: Any) -> str | None:
    if description is None:
        return None
    problems = adf_problems(description)
    if not problems:
        return None
    return "Operation value must be an Atlassian Document (see the Atlassian Document Format): " + "; ".join(problems)


def _labels_error(labels: Any) -> str | None:
    if labels is None:
        return None
    if not isinstance(labels, list) or not all(_nonempty(label) for label in labels):
        return "labels must be a list of non-empty strings"
    spaced = next((label for label in labels if any(char.isspace() for char in label)), None)
    if spaced is not None:
        return f"The label '{spaced}' contains spaces which is invalid."
    return None
