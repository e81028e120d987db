"""GET /api/rotation.ics: the rotation feed, behind a token in the query string."""

from __future__ import annotations

import hmac
import logging
from typing import Awaitable, Callable

from aiohttp import web

from ..domain.errors import StorageUnavailable

log = logging.getLogger(__name__)
FEED_PATH = "/api/rotation.ics"
CACHE_SECONDS = 300
FeedLoader = Callable[..., Awaitable[bytes]]


def token_matches(given: str, expected: str) -> bool:
    """Compare the feed token in constant time; an unset token matches nothing (the feed is off)."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def feed_handler(token: str, load: FeedLoader):
    """GET /api/rotation.ics?token=…[&member=<email>]: 404 for a wrong or missing token, 503 when storage is down."""

    async def handle(request: web.Request) -> web.Response:
        # The query string never reaches a log line: the request middleware logs only the path.
        if not token_matches(request.query.get("token", ""), token):
            log.warning("refused a calendar feed request with a wrong or missing token")
            return web.Response(status=404, text="not found")
        member = request.query.get("member", "").strip() or None
        try:
            body = await load(member_email=member)
        except StorageUnavailable:
            log.warning("could not read the rotation for the calendar feed")
            return web.Response(status=503, text="temporarily unavailable", headers={"Retry-After": "60"})
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={
                "Content-Disposition": 'inline; filename="support-rotation.ics"',
                # private: the URL carries the token, so shared caches must not keep the answer.
                "Cache-Control": f"private, max-age={CACHE_SECONDS}",
            },
        )

    return handle
