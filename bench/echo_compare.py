"""The two SDKs side by side: the botbuilder echo bot and the Agents SDK echo bot on one Connector stand-in.

    .venv/bin/python -m bench.echo_compare            # 30 warm-up + 300 sequential, then 600 requests at 10 and at 50 clients
    .venv/bin/python -m bench.echo_compare --quick    # 3 + 30, then 60 at 10 and at 50 clients (a few seconds)

Both bots are the smallest bot each SDK makes (bench/echo_bot.py, bench/echo_agents.py), anonymous, with no
storage of ours. Every request is a Teams channel @mention in a new thread, and it is handled when its POST
returned 2xx and the bot's "Echo: …" for that thread reached the stand-in (bench/connector.py). The phases
take turns between the bots, so drift on the machine hits both alike. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import aiohttp

from bench.ack_latency import serve
from bench.connector import BenchConnector
from bench.load import Target, concurrent, sequential
from bench.provenance import git_state, machine
from bench.report import say
from bench.stack import RESULTS, Child, spawn
from bench.stats import summary_ms
from tests.support.processes import free_port

BOTS = (("botbuilder", "bench.echo_bot"), ("agents_sdk", "bench.echo_agents"))
TEXT = "echo me {n}"


@contextlib.contextmanager
def echo_bots() -> Iterator[dict[str, tuple[Child, str]]]:
    """Both echo bots as processes on free loopback ports; stopped on the way out."""
    with contextlib.ExitStack() as stack:
        started: dict[str, tuple[Child, int]] = {}
        for name, module in BOTS:
            port = free_port()
            child = spawn(f"echo_{name}", [module, "--port", str(port)])
            stack.callback(child.stop)
            started[name] = (child, port)
        for child, port in started.values():
            child.wait_listening(port)
        yield {name: (child, f"http://127.0.0.1:{port}") for name, (child, port) in started.items()}


def latency(samples) -> dict:
    """Handled count, errors and ack latency (ms) of a list of samples."""
    handled = [s for s in samples if s.ok]
    errors: dict[str, int] = {}
    for s in samples:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    return {"sent": len(samples), "handled": len(handled), "errors": errors,
            "ack_latency_ms": summary_ms([s.ack_latency for s in handled])}


async def measure(bots: dict[str, tuple[Child, str]], args: argparse.Namespace) -> dict[str, dict]:
    """Warm-up and the sequential phase, then each concurrency level, the bots taking turns in every phase."""
    connector = BenchConnector()
    runner, connector_url = await serve(connector.app())
    targets = {
        name: Target(name, url, connector, connector_url.rstrip("/"), child.process.pid,
                     lambda c=child: c.process.poll() is None, TEXT)
        for name, (child, url) in bots.items()
    }
    results: dict[str, dict] = {name: {"levels": {}} for name in targets}
    limit = aiohttp.TCPConnector(limit=max(args.levels) + 10)
    try:
        async with aiohttp.ClientSession(connector=limit, timeout=aiohttp.ClientTimeout(total=None)) as http:
            for name, target in targets.items():
                say(f"{name}: warm-up {args.warmup}, then {args.requests} sequential requests")
                deadline = time.perf_counter() + args.time_cap
                await sequential(http, target, args.warmup, deadline, args.timeout)
                results[name]["sequential"] = latency(await sequential(http, target, args.requests, deadline, args.timeout))
            for clients in args.levels:
                for name, target in targets.items():
                    count = args.level_requests
                    say(f"{name}: {clients} clients share {count} requests")
                    level = await concurrent(http, target, clients, count, time.perf_counter() + args.time_cap, args.timeout)
                    results[name]["levels"][str(clients)] = level.report(count)
                    if not target.alive():
                        raise RuntimeError(f"{name}: the echo bot exited; see bench/results/echo_{name}.log")
    finally:
        await runner.cleanup()
    return results


def table(results: dict[str, dict], levels: list[int]) -> list[str]:
    """The figures as Markdown rows: 1 client (the sequential phase), then per level p50 / p99 and handled/s."""
    head = ["bot", "1 client: p50 / p99 ms"]
    for clients in levels:
        head += [f"{clients} clients: p50 / p99 ms", f"{clients} clients: handled/s"]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, figures in results.items():
        seq = figures["sequential"]
        cells = [name, f"{_ms(seq['ack_latency_ms'])}" + _errors(seq)]
        for clients in levels:
            level = figures["levels"][str(clients)]
            cells += [_ms(level["ack_latency_ms"]) + _errors(level), f"{level['handled_per_s']:.0f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _ms(summary: dict) -> str:
    return f"{summary['p50']:.1f} / {summary['p99']:.1f}" if summary["n"] else "-"


def _errors(figures: dict) -> str:
    return f" ({sum(figures['errors'].values())} failed)" if figures["errors"] else ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Flags; --quick shrinks whatever was not given."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo_compare", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, help="sequential requests per bot (default 300; quick 30)")
    parser.add_argument("--warmup", type=int, help="unmeasured requests first (default 30; quick 3)")
    parser.add_argument("--levels", help="concurrent clients per level (default 10,50)")
    parser.add_argument("--level-requests", type=int, help="requests per level, shared by its clients (default 600; quick 60)")
    parser.add_argument("--time-cap", type=float, default=120.0, help="cap per bot and phase in seconds (default 120)")
    parser.add_argument("--timeout", type=float, default=10.0, help="cap per request in seconds (default 10)")
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS / "echo_compare.json")
    args = parser.parse_args(argv)
    args.requests = args.requests or (30 if args.quick else 300)
    args.warmup = args.warmup if args.warmup is not None else (3 if args.quick else 30)
    args.level_requests = args.level_requests or (60 if args.quick else 600)
    args.levels = [int(x) for x in (args.levels or "10,50").split(",") if x.strip()]
    if args.requests < 1 or args.level_requests < 1 or any(c < 1 for c in args.levels) or not 0 < args.time_cap <= 600:
        parser.error("counts must be positive and --time-cap in (0, 600]")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run both bots once, print a Markdown table, write bench/results/echo_compare.json."""
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        with echo_bots() as bots:
            results = asyncio.run(measure(bots, args))
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"bench failed: {err}", file=sys.stderr)
        return 1
    rows = table(results, args.levels)
    output = {
        "benchmark": "echo_compare",
        "started_at": started,
        **git_state(),
        "machine": machine(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "definitions": {
            "handled": "the POST returned 2xx and the bot's first message for that thread reached the stand-in",
            "ack_latency": "from sending the POST until that message arrived",
            "handled_per_s": "handled requests / the level's wall time; N closed-loop clients share the requests",
        },
        "bots": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2) + "\n")
    print("\n".join(rows))
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
