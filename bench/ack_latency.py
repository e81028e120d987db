"""Ack latency and throughput of the support bot against a minimal echo bot on the same SDK, on loopback with Azurite.

    .venv/bin/python -m bench.ack_latency                 # full run, botbuilder (bot/teams) beside bench/echo_bot.py
    .venv/bin/python -m bench.ack_latency --sdk agents    # the Agents SDK adapter (bot/agents) beside bench/echo_agents.py
    .venv/bin/python -m bench.ack_latency --quick         # smoke run, well under 30 s

See bench/README.md for what is measured and how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.calibrate import proxy_overhead
from bench.connector import BenchConnector
from bench.load import REQUEST_TEXT, Sample, Target, concurrent, sequential
from bench.provenance import git_state, machine
from bench.report import checks, print_report, ratios, say
from bench.stack import ECHO_BOTS, RESULTS, Proxy, Stack, processes
from bench.stats import summary_ms
from bench.trips import Idle, Record, Windows, attribute, observe_idle, settle, trips_report
from tests.support.processes import ROOT, free_port

DEFINITION = {
    "ack_latency": "time from sending the POST /api/messages of a channel @mention until the bot's first message "
    "for that thread (conversation id) arrives at the connector stand-in; the reply's text is not looked at",
    "handled": "a request is handled when its POST returned 2xx and its thread's first message arrived",
    "handled_per_s": "handled requests / wall time of the level; N closed-loop clients share a fixed number of requests",
    "table_round_trips_before_ack": "requests the Table Storage proxy received after the POST was sent and before "
    "the ack arrived (sequential phase only, so windows never overlap)",
    "table_round_trips_until_next_request": "the same, from the POST until the next POST was sent (or phase end)",
    "background_polling": "call kinds the bots made during an idle period before any request, seen in the windows at "
    "most 2x (+2) as often as the idle rate predicts for the windows' total length; reported, and excluded from the "
    "excluding_background counts and the target check",
    "time_cap": "hard cap per bot and phase; warm-up and settling each get at most a quarter of it",
}


@dataclass(frozen=True)
class Params:
    """The run's parameters."""

    requests: int
    warmup: int
    levels: tuple[int, ...]
    level_requests: int
    time_cap: float
    timeout: float
    quick: bool
    text: str
    output: Path
    pause_ms: float
    idle_seconds: float
    quiet: float
    settle_cap: float
    one_channel: bool = False
    sdk: str = "botbuilder"


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve an app on a free loopback port; the runner and its base URL with a trailing slash."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


@dataclass
class Session:
    """What every phase needs: the HTTP client, the proxy's log, the idle profile and the parameters."""

    http: aiohttp.ClientSession
    proxy: Proxy
    params: Params
    prefix: str
    targets: list[Target]
    idle: Idle | None = None

    async def fetch(self, after: int) -> tuple[int, list[Record]]:
        """The proxy's record count and the records after index `after`."""
        return await self.proxy.records(self.http, after)

    def last_connector_call(self) -> float:
        """When any bot last called its connector stand-in (monotonic)."""
        return max(t.connector.last_request for t in self.targets)

    async def settle(self, cap: float) -> dict:
        """Wait (at most `cap` s) until no bot calls Table Storage beyond its idle polling or calls a connector."""
        assert self.idle is not None
        quiet = self.idle.quiet_needed(self.params.quiet)
        return await settle(self.fetch, self.idle, self.prefix, quiet, cap, self.last_connector_call)

    def slot(self) -> tuple[float, float]:
        """A phase's hard deadline (perf_counter) and the share of it that settling and warm-up may each use."""
        cap = self.params.time_cap
        return time.perf_counter() + cap, min(self.params.settle_cap, cap / 4)


def per_request(samples: list[Sample], windows: Windows) -> list[dict]:
    """Each sequential request: ack and POST latency (ms), Table calls before the ack and until the next POST."""
    handled = iter(zip(windows.before_ack, windows.until_next))
    rows = []
    for s in samples:
        before, until = next(handled) if s.ack is not None else (None, None)
        rows.append({
            "ack_ms": round(s.ack_latency * 1000, 2) if s.ack is not None else None,
            "post_ms": round((s.returned_perf - s.sent_perf) * 1000, 2) if s.returned_perf else None,
            "error": s.error,
            "calls_before_ack": before,
            "calls_until_next": None if until is None else len(until),
        })
    return rows


def sample_figures(samples: list[Sample], target: Target) -> dict:
    """Counts, errors, latencies and messages per thread of a sequential run."""
    handled = [s for s in samples if s.ok]
    messages = sum(target.connector.counts[s.thread] for s in handled)
    return {
        "sent": len(samples),
        "handled": len(handled),
        "errors": dict(Counter(s.error for s in samples if s.error)),
        "ack_latency_ms": summary_ms([s.ack_latency for s in handled]),
        "post_returned_ms": summary_ms([s.returned_perf - s.sent_perf for s in samples if s.returned_perf]),
        "messages_per_thread": round(messages / len(handled), 3) if handled else None,
    }


async def measure_sequential(run: Session, target: Target) -> dict:
    """Within one time slot: warm-up, settle, then the sequential phase with Table round trips per request."""
    p = run.params
    deadline, share = run.slot()
    warm = await sequential(run.http, target, p.warmup, time.perf_counter() + share, p.timeout)
    settled = await run.settle(share)
    mark, _ = await run.fetch(0)
    samples = await sequential(run.http, target, p.requests, deadline, p.timeout, p.pause_ms / 1000)
    phase_end = time.monotonic()
    await asyncio.sleep(0.2)  # let a Table call made just before the phase ended reach the proxy's log
    _, records = await run.fetch(mark)
    assert run.idle is not None
    windows = attribute(samples, records, phase_end, run.prefix)
    return {
        "warmup": {k: v for k, v in sample_figures(warm, target).items() if k in ("sent", "handled", "errors")},
        "settle": settled,
        "planned": p.requests,
        "hit_time_cap": len(samples) < p.requests,
        **sample_figures(samples, target),
        "table_round_trips": trips_report(windows, run.idle),
        "requests": per_request(samples, windows),
    }


async def measure_level(run: Session, target: Target, clients: int) -> dict:
    """Within one time slot: settle, then one concurrency level."""
    p = run.params
    deadline, share = run.slot()
    settled = await run.settle(share)
    level = await concurrent(run.http, target, clients, p.level_requests, deadline, p.timeout)
    return {"settle": settled, **level.report(p.level_requests)}


def check_alive(target: Target) -> None:
    """Stop the run when a bot process died: nothing after that would mean anything."""
    if not target.alive():
        raise RuntimeError(f"{target.name}: the bot process exited during the run; see bench/results/*.log")


async def measure(proxy: Proxy, targets: list[Target], params: Params, prefix: str) -> tuple[dict[str, dict], Idle]:
    """The idle profile, then every phase with ours and the baseline back to back, so drift hits both alike."""
    results: dict[str, dict] = {t.name: {"levels": {}} for t in targets}
    limit = aiohttp.TCPConnector(limit=max(params.levels, default=1) + 10)
    async with aiohttp.ClientSession(connector=limit, timeout=aiohttp.ClientTimeout(total=None)) as http:
        run = Session(http, proxy, params, prefix, targets)
        say(f"watching Table traffic for {params.idle_seconds} s with no requests (background polling)")
        run.idle = await observe_idle(run.fetch, params.idle_seconds, prefix)
        for target in targets:
            say(f"{target.name}: warm-up {params.warmup}, sequential {params.requests} (cap {params.time_cap} s)")
            results[target.name]["sequential"] = await measure_sequential(run, target)
            check_alive(target)
        for clients in params.levels:
            for target in targets:
                say(f"{target.name}: {clients} concurrent clients, {params.level_requests} requests (cap {params.time_cap} s)")
                results[target.name]["levels"][str(clients)] = await measure_level(run, target, clients)
                check_alive(target)
    return results, run.idle


async def run_all(stack: Stack, params: Params, prefix: str) -> tuple[dict[str, dict], Idle]:
    """Start a connector stand-in per bot, measure both, stop the stand-ins."""
    runners: list[web.AppRunner] = []
    targets: list[Target] = []
    bots = (
        ("ours", stack.ours.url, stack.ours.process, stack.ours.alive),
        ("echo", stack.echo_url, stack.echo.process, lambda: stack.echo.process.poll() is None),
    )
    try:
        for name, url, process, alive in bots:
            connector = BenchConnector()
            runner, connector_url = await serve(connector.app())
            runners.append(runner)
            targets.append(Target(name, url, connector, connector_url, process.pid, alive, params.text, one_channel=params.one_channel))
        return await measure(stack.proxy, targets, params, prefix)
    finally:
        for runner in runners:
            await runner.cleanup()




def parse_args(argv: list[str] | None) -> Params:
    """Flags, with --quick shrinking whatever was not given explicitly."""
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, help="sequential requests per bot (default 300; quick 20)")
    parser.add_argument("--warmup", type=int, help="unmeasured sequential requests first (default 30; quick 1)")
    parser.add_argument("--levels", help="concurrent clients per level, comma-separated (default 1,10,50; quick 1,10)")
    parser.add_argument("--level-requests", type=int, help="requests per concurrency level (default: --requests)")
    parser.add_argument("--time-cap", type=float, help="hard cap in seconds per phase and bot, warm-up and settling "
                        "included (default 60; quick 1.5)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request cap in seconds (default 10)")
    parser.add_argument("--pause-ms", type=float, default=0.0, help="pause between sequential requests, so Table "
                        "work a bot does after its ack cannot fall into the next request's window (default 0)")
    parser.add_argument("--quick", action="store_true", help="tiny numbers for a smoke run (< 30 s)")
    parser.add_argument("--one-channel", action="store_true", help="send every request to one channel, so Teams' "
                        "per-conversation send limits (8 per 2 s), which the bot keeps, bound the throughput")
    parser.add_argument("--sdk", choices=sorted(ECHO_BOTS), default="botbuilder", help="our bot's Teams adapter "
                        "(TEAMS_SDK), measured beside the echo bot on the same SDK: botbuilder (bench/echo_bot.py, "
                        "the default) or agents (bench/echo_agents.py)")
    parser.add_argument("--output", type=Path, help="where the JSON goes (default bench/results/ack_latency.json, "
                        "with --sdk agents bench/results/ack_latency_agents.json)")
    parser.add_argument("--text", default=REQUEST_TEXT, help="message after the @mention; {n} becomes a counter "
                        "(default: a support request that matches no command)")
    args = parser.parse_args(argv)
    quick = args.quick
    requests = args.requests if args.requests is not None else (20 if quick else 300)
    levels = tuple(int(x) for x in (args.levels or ("1,10" if quick else "1,10,50")).split(",") if x.strip())
    params = Params(
        requests=requests,
        warmup=args.warmup if args.warmup is not None else (1 if quick else 30),
        levels=levels,
        level_requests=args.level_requests if args.level_requests is not None else requests,
        time_cap=args.time_cap if args.time_cap is not None else (1.5 if quick else 60.0),
        timeout=args.timeout,
        quick=quick,
        text=args.text,
        output=(args.output or RESULTS / ("ack_latency.json" if args.sdk == "botbuilder" else f"ack_latency_{args.sdk}.json")).resolve(),
        pause_ms=args.pause_ms,
        one_channel=args.one_channel,
        sdk=args.sdk,
        idle_seconds=1.0 if quick else 3.0,
        quiet=0.3 if quick else 0.5,
        settle_cap=1.0 if quick else 15.0,
    )
    if params.requests < 1 or params.warmup < 0 or params.level_requests < 1 or any(c < 1 for c in levels):
        parser.error("counts must be positive")
    if params.time_cap <= 0 or params.timeout <= 0 or params.time_cap > 600:
        parser.error("--time-cap must be in (0, 600] and --timeout positive")
    if not 0 <= params.pause_ms <= 10_000:
        parser.error("--pause-ms must be in [0, 10000]")
    return params


def main(argv: list[str] | None = None) -> int:
    """Run everything once, print the table, write bench/results/ack_latency.json."""
    params = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    params.output.parent.mkdir(parents=True, exist_ok=True)
    prefix = "bench" + uuid.uuid4().hex[:10]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    try:
        say(f"starting Azurite, the Table proxy, our bot (TEAMS_SDK={params.sdk}) and {ECHO_BOTS[params.sdk]}")
        with processes(prefix, 1.0 if params.quick else 10.0, params.sdk) as stack:
            say("calibrating the proxy's cost per Table round trip")
            overhead = asyncio.run(proxy_overhead(stack.azurite.port, stack.proxy.port, 20 if params.quick else 100))
            targets, idle = asyncio.run(run_all(stack, params, prefix))
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as err:
        print(f"bench failed: {err}", file=sys.stderr)
        return 1
    say("stopped every process")
    result = {
        "benchmark": "ack_latency",
        "started_at": started,
        "duration_s": round(time.monotonic() - t0, 1),
        **git_state(),
        "machine": machine(),
        "params": {**params.__dict__, "levels": list(params.levels), "output": str(params.output), "table_prefix": prefix},
        "definitions": DEFINITION,
        "idle_table_traffic": idle.report(),
        "targets": targets,
        "ratios": ratios(targets),
        "proxy_overhead_ms_per_round_trip": overhead,
    }
    result["checks"] = checks(result)
    params.output.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"\nwritten: {params.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
