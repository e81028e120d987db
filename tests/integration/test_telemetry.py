"""Tracing goes to Application Insights only when its connection string is set, and then really exports."""

import os
import subprocess
import sys

from tests.support.processes import ROOT

SCRIPT = r"""
import asyncio, json, sys
from aiohttp import web
from opentelemetry import trace

received = []

async def track(request):
    body = await request.read()
    if request.headers.get("Content-Encoding") == "gzip" or body[:2] == b"\x1f\x8b":
        import gzip
        body = gzip.decompress(body)
    received.append(body)
    return web.json_response({"itemsReceived": 1, "itemsAccepted": 1, "errors": []})

async def main():
    app = web.Application()
    app.router.add_post("/{path:.*}", track)  # the exporter posts to <endpoint>/v2.1/track
    runner = web.AppRunner(app); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0); await site.start()
    port = site._server.sockets[0].getsockname()[1]
    from bot import telemetry
    on = telemetry.setup(f"InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint=http://127.0.0.1:{port}/")
    with telemetry.span("job.run", job_kind="cycle.pick"):
        pass
    await asyncio.to_thread(trace.get_tracer_provider().force_flush)
    for _ in range(300):
        if any(b"job.run" in b for b in received): break
        await asyncio.sleep(0.1)
    print(json.dumps({"on": on, "exported": any(b"job.run" in b for b in received)}))
    await runner.cleanup()

asyncio.run(main())
"""


def test_no_connection_string_means_no_telemetry():
    from bot import telemetry

    assert telemetry.setup("") is False


def test_spans_reach_the_ingestion_endpoint():
    env = {**os.environ, "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == '{"on": true, "exported": true}'
