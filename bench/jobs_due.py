"""What one due-poll costs as jobs pile up: the time-ordered key range against the old `Due le now` filter.

    .venv/bin/python -m bench.jobs_due                 # 10, 1,000 and 10,000 waiting jobs, 100 leased, 5 due
    .venv/bin/python -m bench.jobs_due --polls 30 --sizes 10,1000

Both shapes run on the same in-memory Azurite, in their own tables, with the same jobs: `--sizes` waiting
(future) jobs, 100 leased ones and 5 due now. Each poll is counted at the SDK's HTTP layer (round trips and
entities returned) and timed; polls of the two shapes take turns, so drift on the machine hits both alike.
- ours: `TableJobRepository.due()`, `RowKey ge 'due|' and RowKey lt 'due|<now>}'` with a page of 20;
- baseline: the first layout's query, `PartitionKey eq 'job' and Due le <now>` over all pages, then leased
  rows dropped in Python (a lease kept the row's old Due, so every leased job came back on every poll).
Prints a table and writes bench/results/jobs_due.json (the ratios are ours / baseline: lower is better).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.provenance import git_state, machine
from bot.domain.jobs import Job
from bot.storage.jobs import OLD_PARTITION, marker, to_entity
from bot.storage.jobs import TableJobRepository
from bot.storage.tables import key
from tests.support.processes import Azurite
from tests.support.tablecalls import counting_store

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "jobs_due.json"
LEASED, DUE_NOW = 100, 5
BATCH = 100  # Table Storage's limit of operations per transaction


def old_entity(job: Job, lease_until: datetime | None = None) -> dict:
    """A job as the first layout stored it: one row keyed by id, with Due and LeaseUntil as plain properties."""
    return {
        "PartitionKey": OLD_PARTITION, "RowKey": key(job.id), "Kind": job.kind, "Due": job.due.isoformat(),
        "Payload": json.dumps(job.payload), "Attempts": job.attempts,
        "LeaseUntil": lease_until.isoformat() if lease_until else "", "Owner": job.owner,
        "RememberSeconds": job.remember_seconds,
    }


async def old_due(client, now: datetime, limit: int = 50) -> list[dict]:
    """The first layout's poll: a filter on a non-key property, every page, leased rows dropped afterwards."""
    rows = [e async for e in client.query_entities("PartitionKey eq @p and Due le @now",
                                                   parameters={"p": OLD_PARTITION, "now": now.isoformat()})]
    free = [e for e in rows if not e["LeaseUntil"] or datetime.fromisoformat(e["LeaseUntil"]) <= now]
    return sorted(free, key=lambda e: e["Due"])[:limit]


async def insert(client, entities: list[dict]) -> None:
    """Bulk-insert rows in transactions of 100 (rows of one job stay in one transaction)."""
    for start in range(0, len(entities), BATCH):
        await client.submit_transaction([("create", e) for e in entities[start:start + BATCH]])


def jobs(prefix: str, count: int, due: datetime, step: timedelta = timedelta(0)) -> list[Job]:
    """`count` escalation jobs named prefix|n, due from `due` on, `step` apart."""
    return [Job(f"{prefix}|{n}", "request.escalate", due + n * step, {"request": f"r{n}", "level": 1}) for n in range(count)]


async def add(new_client, old_client, now: datetime, waiting: list[Job], leased: list[Job] = (), due: list[Job] = ()) -> None:
    """Store the same jobs in both layouts; leased ones are held by another instance until now + 15 s."""
    new_rows, old_rows = [], []
    for job in [*waiting, *due]:
        new_rows += [marker(job), to_entity(job)]
        old_rows.append(old_entity(job))
    for job in leased:
        held = job.leased("other-instance", now, 15)
        new_rows += [marker(held), to_entity(held)]
        old_rows.append(old_entity(job, lease_until=held.due))  # the old take kept Due and set LeaseUntil
    await insert(new_client, new_rows)
    await insert(old_client, old_rows)


async def measure(size: int, polls: int, repo: TableJobRepository, new_calls, old_client, old_calls, now: datetime) -> dict:
    """Time and count `polls` polls of each shape, taking turns."""
    ours: list[tuple[float, int, int, int]] = []
    base: list[tuple[float, int, int, int]] = []
    for _ in range(polls):
        new_calls.reset()
        started = time.perf_counter()
        found = await repo.due(now)
        ours.append((time.perf_counter() - started, new_calls.round_trips, new_calls.rows_read, len(found)))
        old_calls.reset()
        started = time.perf_counter()
        found_old = await old_due(old_client, now)
        base.append((time.perf_counter() - started, old_calls.round_trips, old_calls.rows_read, len(found_old)))

    def summary(samples: list[tuple[float, int, int, int]]) -> dict:
        """Median and p90 wall time; the most round trips, rows and due jobs any poll saw."""
        return {
            "wall_ms_median": round(statistics.median(s[0] for s in samples) * 1000, 2),
            "wall_ms_p90": round(sorted(s[0] for s in samples)[int(0.9 * (len(samples) - 1))] * 1000, 2),
            "round_trips": max(s[1] for s in samples),
            "rows_read": max(s[2] for s in samples),
            "due_found": max(s[3] for s in samples),
        }

    ours_s, base_s = summary(ours), summary(base)
    return {
        "waiting": size, "leased": LEASED, "due": DUE_NOW, "polls": polls, "ours": ours_s, "baseline": base_s,
        "ratio_wall_ms": round(ours_s["wall_ms_median"] / base_s["wall_ms_median"], 3),
        "ratio_rows_read": round(ours_s["rows_read"] / base_s["rows_read"], 3) if base_s["rows_read"] else None,
    }


async def run(sizes: list[int], polls: int) -> dict:
    """Start Azurite, grow the waiting jobs step by step, and measure at each size."""
    azurite = Azurite().start()
    try:
        suffix = uuid.uuid4().hex[:8]
        new_store, new_calls = counting_store(azurite.connection_string, f"benchnew{suffix}")
        old_store, old_calls = counting_store(azurite.connection_string, f"benchold{suffix}")
        await new_store.ensure_tables(("Jobs",))
        await old_store.ensure_tables(("Jobs",))
        new_client, old_client = new_store.table("Jobs"), old_store.table("Jobs")
        repo = TableJobRepository(new_store)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        await add(new_client, old_client, now, [], leased=jobs("leased", LEASED, now - timedelta(seconds=30)),
                  due=jobs("due", DUE_NOW, now - timedelta(seconds=5)))
        results, have = [], 0
        for size in sizes:
            started = time.perf_counter()
            await add(new_client, old_client, now, jobs("waiting", size, now + timedelta(hours=1), timedelta(seconds=7))[have:])
            have = size
            print(f"[bench] {size:>6} waiting jobs stored in {time.perf_counter() - started:.1f}s; polling {polls}x each shape",
                  flush=True)
            results.append(await measure(size, polls, repo, new_calls, old_client, old_calls, now))
        await new_store.close()
        await old_store.close()
        return {"bench": "jobs_due", **git_state(), "machine": machine(), "results": results}
    finally:
        azurite.stop()


def table(report: dict) -> str:
    """The results as a fixed-width table."""
    lines = [
        "waiting  leased  due | ours: trips  rows   ms p50 | baseline: trips  rows   ms p50 | ratio ms  ratio rows",
        "-" * 104,
    ]
    for r in report["results"]:
        o, b = r["ours"], r["baseline"]
        lines.append(
            f"{r['waiting']:>7}  {r['leased']:>6}  {r['due']:>3} | {o['round_trips']:>11}  {o['rows_read']:>4}  {o['wall_ms_median']:>7.2f} |"
            f" {b['round_trips']:>15}  {b['rows_read']:>4}  {b['wall_ms_median']:>7.2f} | {r['ratio_wall_ms']:>8.3f}  {r['ratio_rows_read']:>10.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the bench, print the table and write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.jobs_due", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="waiting jobs per step, ascending (default 10,1000,10000)")
    parser.add_argument("--polls", type=int, default=20, help="timed polls per shape and size (default 20)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    report = asyncio.run(run(sizes, max(1, args.polls)))
    report["parameters"] = {"sizes": sizes, "polls": args.polls, "leased": LEASED, "due": DUE_NOW}
    print(table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"[bench] wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
