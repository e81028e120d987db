"""How well the handbook matching and the recurring-request check do on labelled requests, and how fast they are.

    .venv/bin/python -m bench.matching
    .venv/bin/python -m bench.matching --show-misses          # also list every wrong or missing suggestion
    .venv/bin/python -m bench.matching --no-git               # without recording the commit

The handbook is tests/data/handbook.md, the labelled requests tests/data/handbook_requests.yaml (each with the
entry that answers it, or null), and the recurring set tests/data/recurring_requests.yaml (groups of requests
about one problem, and unrelated ones). Prints a table and writes bench/results/matching.json.
Targets: top-3 precision >= 0.8, recall@3 >= 0.7, false-show rate on null requests <= 0.25.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Sequence

import yaml

from bench.provenance import git_state, machine
from bot.domain import matching
from bot.domain.handbook import Entry, parse_handbook
from bot.domain.matching import HandbookIndex

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
HANDBOOK = DATA / "handbook.md"
LABELLED = DATA / "handbook_requests.yaml"
PARAPHRASED = DATA / "handbook_requests_paraphrased.yaml"
RECURRING = DATA / "recurring_requests.yaml"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "matching.json"
TARGETS = {"top3_precision": (">=", 0.8), "recall_at_3": (">=", 0.7), "false_show_rate": ("<=", 0.25)}
TIMING_ENTRIES = 200


@dataclass(frozen=True)
class Labelled:
    """A request and the id of the entry that answers it, or None when the handbook has no answer."""

    text: str
    expected: str | None


@dataclass
class Report:
    """The figures of one evaluation of suggest() over labelled requests."""

    requests: int
    answerable: int
    null: int
    shown: int  # requests with at least one suggestion
    suggestions: int  # suggestions shown in all
    top3_precision: float  # of the requests with a suggestion, the share whose expected entry is among them
    suggestion_precision: float  # right suggestions / all suggestions shown
    recall_at_3: float  # answerable requests whose entry is shown
    false_show_rate: float  # null requests with any suggestion
    misses: list[dict] = field(default_factory=list)  # every request with a wrong, missing or extra suggestion


@dataclass
class RecurringReport:
    """The figures of recurring() over groups of requests about one problem."""

    requests: int
    same_pairs: int  # pairs of requests from one group
    found_pairs: int  # pairs recurring() linked
    pair_precision: float
    pair_recall: float
    flag_precision: float  # requests linked to >= 2 earlier ones ("recurring") that belong to a group
    flag_recall: float  # group requests flagged as recurring
    wrong_pairs: list[list[str]] = field(default_factory=list)
    missed_pairs: list[list[str]] = field(default_factory=list)


def load_handbook(path: Path = HANDBOOK) -> list[Entry]:
    """The handbook entries of the test data."""
    return parse_handbook(path.read_text(encoding="utf-8"))


def load_labelled(path: Path = LABELLED) -> list[Labelled]:
    """The labelled requests of the test data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Labelled(str(item["text"]), item["expected"]) for item in data["requests"]]


def load_recurring(path: Path = RECURRING) -> list[tuple[str, str, str | None]]:
    """(id, text, group) for every request of the recurring set; group is None for the unrelated ones."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = [(f"{group}-{n}", text, group) for group, texts in data["groups"].items() for n, text in enumerate(texts, 1)]
    rows += [(f"unrelated-{n}", text, None) for n, text in enumerate(data["unrelated"], 1)]
    return rows


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def evaluate(index: HandbookIndex, labelled: Sequence[Labelled]) -> Report:
    """Top-3 precision, per-suggestion precision, recall@3 and the false-show rate of index.suggest()."""
    shown = hits = suggestions = right = answerable_found = null_shown = 0
    misses = []
    for item in labelled:
        ids = [s.entry_id for s in index.suggest(item.text)]
        suggestions += len(ids)
        right += ids.count(item.expected) if item.expected else 0
        if ids:
            shown += 1
            hits += item.expected in ids
        if item.expected is None:
            null_shown += bool(ids)
        else:
            answerable_found += item.expected in ids
        if ids != ([item.expected] if item.expected else []):
            misses.append({"text": item.text, "expected": item.expected, "shown": ids})
    answerable = sum(1 for item in labelled if item.expected is not None)
    null = len(labelled) - answerable
    return Report(
        requests=len(labelled), answerable=answerable, null=null, shown=shown, suggestions=suggestions,
        top3_precision=_ratio(hits, shown), suggestion_precision=_ratio(right, suggestions),
        recall_at_3=_ratio(answerable_found, answerable), false_show_rate=_ratio(null_shown, null), misses=misses,
    )


def evaluate_recurring(rows: Sequence[tuple[str, str, str | None]], threshold: float = matching.SIMILAR) -> RecurringReport:
    """Pairwise precision and recall of recurring(), each request asked against all the others."""
    group = {request_id: g for request_id, _, g in rows}
    found: set[frozenset[str]] = set()
    flagged = set()
    for request_id, text, _ in rows:
        earlier = [(other_id, other) for other_id, other, _ in rows if other_id != request_id]
        linked = matching.recurring(text, earlier, threshold)
        found.update(frozenset((request_id, other)) for other in linked)
        if len(linked) >= 2:
            flagged.add(request_id)
    same = {frozenset((a, b)) for a, b in combinations(group, 2) if group[a] is not None and group[a] == group[b]}
    in_groups = {request_id for request_id, g in group.items() if g is not None}
    return RecurringReport(
        requests=len(rows), same_pairs=len(same), found_pairs=len(found),
        pair_precision=_ratio(len(found & same), len(found)), pair_recall=_ratio(len(found & same), len(same)),
        flag_precision=_ratio(len(flagged & in_groups), len(flagged)),
        flag_recall=_ratio(len(flagged & in_groups), len(in_groups)),
        wrong_pairs=sorted(sorted(p) for p in found - same), missed_pairs=sorted(sorted(p) for p in same - found),
    )


def met(report: Report) -> dict[str, bool]:
    """Whether each target is met."""
    figures = asdict(report)
    return {name: figures[name] >= limit if op == ">=" else figures[name] <= limit for name, (op, limit) in TARGETS.items()}


def timing(entries: Sequence[Entry], labelled: Sequence[Labelled], runs: int) -> dict[str, float | int]:
    """Milliseconds to build an index of TIMING_ENTRIES entries (copies of the handbook, renamed) and for one suggest()."""
    many = [
        Entry(f"{e.id}-{n}", f"{e.title} {n}", e.keywords, e.solution, e.links)
        for n in range(TIMING_ENTRIES // len(entries) + 1) for e in entries
    ][:TIMING_ENTRIES]
    builds, firsts, warm = [], [], []
    texts = [item.text for item in labelled]
    for run in range(runs):
        began = time.perf_counter()
        index = HandbookIndex(many)
        built = time.perf_counter()
        index.suggest(texts[run % len(texts)])
        builds.append((built - began) * 1000)
        firsts.append((time.perf_counter() - built) * 1000)
        began = time.perf_counter()
        for text in texts:
            index.suggest(text)
        warm.append((time.perf_counter() - began) * 1000 / len(texts))
    return {
        "entries": len(many), "runs": runs,
        "build_median_ms": round(statistics.median(builds), 3), "build_max_ms": round(max(builds), 3),
        "first_suggest_median_ms": round(statistics.median(firsts), 3), "first_suggest_max_ms": round(max(firsts), 3),
        "warm_suggest_ms": round(statistics.median(warm), 3),  # mean per call over the labelled texts, median of runs
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed index builds of 200 entries (default 20)")
    parser.add_argument("--show-misses", action="store_true", help="list every request with a wrong or missing suggestion")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON goes")
    parser.add_argument("--no-git", action="store_true", help="don't run git to record the commit (commit: null)")
    return parser.parse_args(argv)


def print_table(result: dict, show_misses: bool) -> None:
    """The figures as a small table on stdout."""
    report, rec, data = result["handbook"], result["recurring"], result["data"]
    print(f"suggest(): {data['entries']} entries, {report['requests']} requests "
          f"({report['answerable']} answerable, {report['null']} null); THRESHOLD {data['threshold']}, "
          f"RELATIVE {data['relative']}")
    print(f"{'figure':<34}{'value':>8}  target")
    for name in ("top3_precision", "suggestion_precision", "recall_at_3", "false_show_rate"):
        target = TARGETS.get(name)
        verdict = f"{target[0]} {target[1]}  {'met' if result['met'][name] else 'MISSED'}" if target else ""
        print(f"{name:<34}{report[name]:>8.3f}  {verdict}")
    print(f"{'requests with a suggestion':<34}{report['shown']:>8}")
    print(f"{'suggestions shown':<34}{report['suggestions']:>8}")
    para = result["paraphrased"]
    print(f"paraphrased set ({para['requests']} requests, {para['answerable']} answerable, {para['null']} null; no shared keywords):")
    for name in ("top3_precision", "suggestion_precision", "recall_at_3", "false_show_rate"):
        print(f"  {name:<32}{para[name]:>8.3f}")
    print(f"recurring(): {rec['requests']} requests, {rec['same_pairs']} same-problem pairs; SIMILAR {data['similar']}")
    for name in ("pair_precision", "pair_recall", "flag_precision", "flag_recall"):
        print(f"{name:<34}{rec[name]:>8.3f}")
    t = result["timing"]
    print(f"timing, {t['entries']} entries: build median {t['build_median_ms']} ms (max {t['build_max_ms']}), "
          f"first suggest median {t['first_suggest_median_ms']} ms (max {t['first_suggest_max_ms']}), "
          f"warm suggest {t['warm_suggest_ms']} ms")
    if show_misses:
        for miss in report["misses"]:
            print(f"  expected {miss['expected']}, shown {miss['shown']}: {miss['text'][:90]}")
        for pair in rec["wrong_pairs"]:
            print(f"  wrong pair {pair}")
        for pair in rec["missed_pairs"]:
            print(f"  missed pair {pair}")
    print(f"wrote {result['output']}")


def main(argv: list[str] | None = None) -> int:
    """Evaluate, time, print the table and write the JSON."""
    args = parse_args(argv)
    entries, labelled = load_handbook(), load_labelled()
    report = evaluate(HandbookIndex(entries), labelled)
    paraphrased = evaluate(HandbookIndex(entries), load_labelled(PARAPHRASED))
    recurring = evaluate_recurring(load_recurring())
    result = {
        "bench": "matching",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **({"commit": None, "dirty": None} if args.no_git else git_state()),
        "machine": machine(),
        "data": {
            "handbook": str(HANDBOOK.relative_to(ROOT)), "entries": len(entries),
            "labelled": str(LABELLED.relative_to(ROOT)), "paraphrased": str(PARAPHRASED.relative_to(ROOT)),
            "recurring": str(RECURRING.relative_to(ROOT)),
            "threshold": matching.THRESHOLD, "relative": matching.RELATIVE, "similar": matching.SIMILAR,
        },
        "definitions": {
            "top3_precision": "requests with >= 1 suggestion whose expected entry is among the (up to 3) shown; "
                              "a suggestion for a null request counts as wrong",
            "suggestion_precision": "right suggestions / all suggestions shown",
            "recall_at_3": "answerable requests whose expected entry is shown",
            "false_show_rate": "null requests with any suggestion",
            "pair_precision": "linked pairs (recurring() of one against all others) from the same group / linked pairs",
            "pair_recall": "same-group pairs linked / same-group pairs",
            "flag": "a request linked to >= 2 others, as the triage card would say 'recurring'",
        },
        "targets": {name: f"{op} {limit}" for name, (op, limit) in TARGETS.items()},
        "met": met(report),
        "handbook": asdict(report),
        "paraphrased": asdict(paraphrased),
        "recurring": asdict(recurring),
        "timing": timing(entries, labelled, args.runs),
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print_table(result, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
