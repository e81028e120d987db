"""Nothing lost, nothing stuck: the fixed mix through a long fault schedule, with figures.

    .venv/bin/python -m bench.faults            # 50 requests, 200 webhooks for 10 errors over 120 s; about 5 min
    .venv/bin/python -m bench.faults --quick    # 12 requests, 40 webhooks for 4 errors over 30 s; about 1.5 min

Two bot instances on the same tables take the traffic while the schedule below breaks the Bot Connector
(429 with Retry-After, 412, 502, 503 windows, hangs, resets, lost answers), Jira (429, 503, lost answers
after the ticket was created, search lag), Table Storage (Azurite stopped with SIGINT and restarted on the
same port, twice) and the bots (SIGKILL right after an acknowledgement, and at random moments, then a
restart on the same tables). The driver and the measurements are tests/support/faults.py, the same as in
tests/e2e/test_faults.py. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.provenance import git_state, machine
from tests.support.faults import ALERTS, FaultRun, Mix, Plan, Timings, render
from tests.support.processes import ROOT
from tests.support.schedule import (
    ANY_ACTIVITY,
    ANY_THREAD,
    ONE_TO_ONE,
    ConnectorFault,
    Fault,
    JiraFault,
    JiraLostAnswers,
    JiraSearchLag,
    KillAfterAck,
    KillBot,
    StopStorage,
    channel_path,
    random_kills,
    thread_path,
)

RESULTS = ROOT / "bench" / "results"
BACKEND = "19:backend0channel0id@thread.tacv2"  # the channel of tests/fixtures/teams/channel_mention.json
# The schedule is written for a 120 s run; times scale with --seconds, durations (outages, hangs) do not.
LENGTH = 120.0


def schedule(seconds: float, instances: int, seed: int) -> list[Fault]:
    """Every fault kind, spread over the traffic; `at` scaled from a 120 s run to `seconds`."""
    f = seconds / LENGTH
    other = 1 if instances > 1 else 0
    faults: list[Fault] = [
        JiraSearchLag(at=0, seconds=2.0),  # shorter than JIRA_RETRY_SECONDS (3)
        ConnectorFault(at=3 * f, seconds=20, method="POST", path=channel_path(ALERTS), status=503, label="the alert channel"),
        ConnectorFault(at=10 * f, times=3, path=ANY_THREAD, status=429, retry_after="2", label="any thread"),
        KillAfterAck(at=15 * f, bot=0, down=3.0),
        ConnectorFault(at=20 * f, times=5, method="PUT", status=412, label="card updates"),
        ConnectorFault(at=25 * f, times=4, path=ONE_TO_ONE, status=502, label="1:1 chats"),
        ConnectorFault(at=30 * f, seconds=6, method="POST", path=thread_path(BACKEND), status=503, label="#backend threads"),
        JiraFault(at=35 * f, times=3, status=429, retry_after="2"),
        JiraLostAnswers(at=40 * f, times=2),
        ConnectorFault(at=45 * f, times=3, mode="lose", label="any conversation"),
        StopStorage(at=50 * f, seconds=6.0),
        KillBot(at=53 * f, bot=other, down=2.0),  # its restart fails until storage is back
        ConnectorFault(at=65 * f, times=1, path=ONE_TO_ONE, mode="hang", hang=16, label="1:1 chats"),
        ConnectorFault(at=70 * f, times=2, path=ANY_THREAD, mode="reset", label="any thread"),
        JiraFault(at=75 * f, seconds=10, status=503),
        KillAfterAck(at=80 * f, bot=other, down=2.0),
        ConnectorFault(at=95 * f, times=1, method="PUT", mode="hang", hang=16, label="card updates"),
        ConnectorFault(at=100 * f, seconds=5, path=ANY_ACTIVITY, status=429, retry_after="1", label="any conversation"),
        StopStorage(at=105 * f, seconds=4.0),
    ]
    faults += random_kills(random.Random(seed), 85 * f, 115 * f, 3, bots=instances, down=(1.0, 3.0))
    return faults


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Flags; --quick shrinks whatever was not given."""
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, help="support requests (default 50; quick 12)")
    parser.add_argument("--webhooks", type=int, help="Bugsnag webhooks (default 200; quick 40)")
    parser.add_argument("--errors", type=int, help="distinct Bugsnag errors (default 10; quick 4)")
    parser.add_argument("--bugs", type=int, help="requests triaged as Bug, filed in Jira (default 8; quick 3)")
    parser.add_argument("--seconds", type=float, help="traffic spread over this long (default 120; quick 30)")
    parser.add_argument("--instances", type=int, default=2, help="bot instances on the same tables (default 2)")
    parser.add_argument("--settle", type=float, help="longest wait for everything to arrive after the traffic "
                        "(default 120; quick 60)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the traffic's times and the random kills")
    parser.add_argument("--quick", action="store_true", help="a smaller, shorter run")
    parser.add_argument("--output", type=Path, default=RESULTS / "faults.json",
                        help="where the JSON goes (default bench/results/faults.json)")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value, full, small):
        return value if value is not None else (small if quick else full)

    args.requests = pick(args.requests, 50, 12)
    args.webhooks = pick(args.webhooks, 200, 40)
    args.errors = pick(args.errors, 10, 4)
    args.bugs = pick(args.bugs, 8, 3)
    args.seconds = pick(args.seconds, LENGTH, 30.0)
    args.settle = pick(args.settle, 120.0, 60.0)
    if min(args.requests, args.webhooks, args.errors, args.instances) < 1 or args.bugs < 0 or args.bugs > args.requests:
        parser.error("counts must be positive, and --bugs at most --requests")
    if args.errors > args.webhooks:
        parser.error("--errors must be at most --webhooks")
    if not 10 <= args.seconds <= 1800 or not 10 <= args.settle <= 1800:
        parser.error("--seconds and --settle must be between 10 and 1800")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run once, print the table, write the JSON; exit 1 only when the bench itself could not run."""
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # About one request in 12 repeats the one before it (an incident): 4 of 50, 1 of 12.
    mix = Mix(requests=args.requests, webhooks=args.webhooks, errors=args.errors, seconds=args.seconds,
              bugs=args.bugs, seed=args.seed, incidents=max(1, args.requests // 12))
    plan = Plan(mix, faults=schedule(args.seconds, args.instances, args.seed), instances=args.instances,
                timings=Timings(), settle_seconds=args.settle, quiet_seconds=3.0)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    provenance = {**git_state(), "machine": machine()}  # before the run: the load average of a quiet machine
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    print(f"[faults] {args.instances} bots, {mix.requests} requests and {mix.webhooks} webhooks for {mix.errors} "
          f"errors over {mix.seconds:g} s, {len(plan.faults)} faults; logs in bench/results/faults-bot*.log", flush=True)
    try:
        report = asyncio.run(FaultRun(plan, workdir, log_dir=RESULTS).run())
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"bench failed: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "benchmark": "faults",
        "started_at": started,
        "duration_s": round(time.monotonic() - t0, 1),
        **provenance,
        "command": "python -m bench.faults" + (" --quick" if args.quick else ""),
        "params": {"requests": mix.requests, "incidents": mix.incidents, "webhooks": mix.webhooks, "errors": mix.errors,
                   "bugs": mix.bugs,
                   "seconds": mix.seconds, "instances": args.instances, "settle_s": args.settle, "seed": args.seed,
                   "quick": args.quick},
        **report,
    }
    args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(render(report))
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
