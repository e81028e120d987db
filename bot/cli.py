"""The command-line tools behind python -m bot."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from .bootstrap import build_services
from .config import ConfigError, load_storage_settings
from .domain.errors import DomainError, FileProblems
from .domain.handbook import parse_handbook
from .services.demo import seed_demo
from .services.roster import export_roster, import_roster
from .services.roster_file import dump_roster, parse_roster


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Support-rotation bot tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    roster = sub.add_parser("roster", help="import or export the roster as YAML").add_subparsers(dest="action", required=True)
    imp = roster.add_parser("import", help="validate a YAML file, then write it (idempotent)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--check", action="store_true", help="validate only; write nothing")
    exp = roster.add_parser("export", help="write the stored roster as YAML")
    exp.add_argument("-o", "--output", type=Path, help="a file instead of standard output")
    handbook = sub.add_parser("handbook", help="import or export the handbook as Markdown").add_subparsers(dest="action", required=True)
    himp = handbook.add_parser("import", help="load a Markdown handbook: each `## ` section is an entry (idempotent)")
    himp.add_argument("file", type=Path)
    himp.add_argument("--check", action="store_true", help="validate only; write nothing")
    himp.add_argument("--if-empty", action="store_true", help="import only into an empty handbook (for demo data)")
    hexp = handbook.add_parser("export", help="write the stored handbook as Markdown")
    hexp.add_argument("-o", "--output", type=Path, help="a file instead of standard output")
    jobs = sub.add_parser("jobs", help="list or retry parked jobs").add_subparsers(dest="action", required=True)
    jobs.add_parser("list", help="the parked jobs: id, kind, since when, attempts, last error")
    jretry = jobs.add_parser("retry", help="run a parked job again from the start")
    which = jretry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="the job id, as `jobs list` shows it")
    which.add_argument("--all", action="store_true", help="every parked job")
    demo = sub.add_parser("demo-seed", help="seed a demo roster and rotation when the tables are empty")
    demo.add_argument("file", type=Path)
    return parser


def _write(text: str, output: Path | None) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


async def _handbook(args: argparse.Namespace, services) -> int:
    if args.action == "export":
        _write(await services.handbook.export_markdown(), args.output)
        return 0
    text = args.file.read_text(encoding="utf-8")
    if args.check:
        print(f"{args.file}: valid ({len(parse_handbook(text))} entries)")
        return 0
    if args.if_empty and await services.handbook.entries():
        print(f"{args.file}: skipped, the handbook already has entries")
        return 0
    print(f"{args.file}: {(await services.handbook.import_markdown(text)).summary()}")
    return 0


async def _jobs(args: argparse.Namespace, services) -> int:
    runner = services.jobs
    if args.action == "list":
        parked = await runner.parked()
        for job in parked:
            print(f"{job.id}\t{job.kind}\tparked {job.parked_at:%Y-%m-%d %H:%M} UTC\t{job.attempts} attempts\t{job.last_error}")
        print(f"{len(parked)} parked job{'s' if len(parked) != 1 else ''}", file=sys.stderr)
        return 0
    if args.all:
        count = len(await runner.retry_all())
        print(f"retried {count} parked job{'s' if count != 1 else ''}; a running bot picks them up within a poll")
        return 0
    if await runner.retry(args.id) is None:
        print(f"error: no parked job {args.id!r} (see `python -m bot jobs list`)", file=sys.stderr)
        return 1
    print(f"retried {args.id}; a running bot picks it up within a poll")
    return 0


async def _run(args: argparse.Namespace) -> int:
    if args.command == "handbook" and args.action == "import":
        parse_handbook(args.file.read_text(encoding="utf-8"))  # a bad file is reported before any connection
    services = build_services(load_storage_settings(os.environ))
    try:
        await services.store.ensure_tables()
        if args.command == "handbook":
            return await _handbook(args, services)
        if args.command == "jobs":
            return await _jobs(args, services)
        if args.command == "demo-seed":
            text = args.file.read_text(encoding="utf-8")
            print(await seed_demo(text, services.clock(), services.settings.tz, services.policy, services.members, services.weeks))
        elif args.action == "import":
            document = parse_roster(args.file.read_text(encoding="utf-8"), services.policy)
            if args.check:
                print(f"{args.file}: valid ({len(document.members)} members, {len(document.weeks)} weeks)")
                return 0
            report = await import_roster(document, services.members, services.weeks)
            print(f"{args.file}: {report.summary()}")
        else:
            _write(dump_roster(await export_roster(services.members, services.weeks)), args.output)
        return 0
    finally:
        await services.store.close()


def main(argv: list[str]) -> int:
    """Run one tool; problems print as plain lines on stderr with a non-zero exit code."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    except FileProblems as err:
        print(f"{args.file}: not imported, nothing was written:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (DomainError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
