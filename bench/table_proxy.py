"""A counting HTTP proxy on loopback between a bot and Azurite: forwards verbatim, records every request.

Run as its own process so it never shares an event loop with the load generator:

    python -m bench.table_proxy --upstream http://127.0.0.1:10002 --port 20002 --control-port 20003

The forwarding port passes every request through (method, raw path and query, headers, body) and returns
Azurite's status, headers and body untouched; only hop-by-hop headers (Connection, Transfer-Encoding, ...)
are left to each connection, as any HTTP/1.1 proxy must. The control port answers
`GET /records?after=N` with the requests seen so far as JSON: `[[monotonic, method, path], ...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection; aiohttp sets its own Content-Length.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in ("Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length")
)
# Headers aiohttp's client would add on its own; skipped so only the caller's headers go upstream.
CLIENT_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
Record = tuple[float, str, str]


def end_to_end(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The headers without hop-by-hop ones, duplicates and order kept."""
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP)


@dataclass
class TableProxy:
    """Forwards to one upstream and records (monotonic time, method, path) per request on arrival."""

    upstream: str
    records: list[Record] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        """The forwarding app: every method, every path."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    def control_app(self) -> web.Application:
        """The control app: GET /records?after=N."""
        app = web.Application()
        app.router.add_get("/records", self._records)
        return app

    async def _open(self, _: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(limit=200)
        )

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.records.append((time.monotonic(), request.method, request.path))
        body = await request.read()
        headers = end_to_end(request.headers)
        skip = [h for h in CLIENT_AUTO_HEADERS if h not in headers]
        url = URL(self.upstream.rstrip("/") + request.raw_path, encoded=True)
        assert self._session is not None
        async with self._session.request(
            request.method, url, headers=headers, data=body or None, skip_auto_headers=skip, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            return web.Response(status=answer.status, reason=answer.reason, headers=end_to_end(answer.headers), body=payload)

    async def _records(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        return web.json_response({"total": len(self.records), "records": self.records[after:]})


async def serve(proxy: TableProxy, port: int, control_port: int, stop: asyncio.Event) -> None:
    """Serve both apps on loopback until `stop` is set."""
    runners = [web.AppRunner(proxy.app(), access_log=None), web.AppRunner(proxy.control_app(), access_log=None)]
    for runner, p in zip(runners, (port, control_port)):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", p).start()
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    """Run the proxy until SIGTERM or SIGINT."""
    import signal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:10002")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(TableProxy(args.upstream), args.port, args.control_port, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
