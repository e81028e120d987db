"""How long suggest() takes for 60 members and 3 years of history, next to a naive reference implementation.

    .venv/bin/python -m bench.suggest                      # 50 timed runs of ours, 3 of the baseline
    .venv/bin/python -m bench.suggest --runs 200 --baseline-runs 3

The baseline scores every pair with full history scans and validates every candidate with check_team();
it follows the same rules and weights, so both must suggest the same team (the bench checks that).
Prints a table and writes bench/results/suggest.json. Target: p95 of ours well under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path
from typing import Callable, Mapping, Sequence

from bench.provenance import git_state, machine
from bot.domain import planning
from bot.domain.calendar import TeamCalendar
from bot.domain.iteration import Iteration
from bot.domain.members import Member, Role
from bot.domain.planning import Absence, Suggestion, absent_days, check_team, coverage, suggest
from bot.domain.rotation import RotationWeek

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "suggest.json"
TARGET_MS = 100.0
ITERATION = Iteration(date(2026, 12, 2))
TODAY = date(2026, 11, 30)
MEMBERS = 60
HISTORY_WEEKS = 156
CALENDAR = TeamCalendar()
Roster = Mapping[str, Member]
History = Sequence[RotationWeek]
SKIP_ANOTHER = 3


# --- The data set ----------------------------------------------------------------------------------------


def build_team(seed: int) -> tuple[dict[str, Member], list[RotationWeek], list[Absence]]:
    """60 members, 156 weekly rotations before ITERATION and 3 years of absences, all from one seed."""
    rng = random.Random(seed)
    members = {m.aad_object_id: m for m in (_member(i, rng) for i in range(MEMBERS))}
    history = _history(members, rng)
    return members, history, _absences(members, rng)


def _member(index: int, rng: random.Random) -> Member:
    part_time = rng.random() < 0.1
    recent = index >= MEMBERS - 4  # the last four joined within the last 12 weeks
    if recent:
        joined = ITERATION.start - timedelta(weeks=rng.randint(2, 11))
    else:
        joined = date(2022, 1, 1) + timedelta(days=rng.randint(0, 900))
    return Member(
        aad_object_id=f"aad-{index:03d}",
        display_name=f"Person {index:02d}",
        email=f"person{index:02d}@example.test",
        production_access=rng.random() < 0.7 and not recent,
        working_weekdays=frozenset(rng.choice([(0, 1, 2, 3), (1, 2, 3, 4)])) if part_time else frozenset(range(5)),
        joined=joined,
        observer_done=recent and index % 2 == 0,  # two newcomers have observed, two are waiting
        role=Role.LEAD if index % 15 == 0 else Role.MEMBER,
        active=index not in (7, 23, 41),
    )


def _history(members: Mapping[str, Member], rng: random.Random) -> list[RotationWeek]:
    weeks = []
    for back in range(HISTORY_WEEKS, 0, -1):
        start = ITERATION.start - timedelta(weeks=back)
        eligible = sorted(p for p, m in members.items() if m.joined and m.joined <= start - timedelta(weeks=12))
        with_production = [p for p in eligible if members[p].production_access]
        first = rng.choice(with_production)
        second = rng.choice([p for p in eligible if p != first])
        others = [p for p in eligible if p not in (first, second)]
        fallback = rng.choice(others) if rng.random() < 0.15 else None
        weeks.append(RotationWeek(start, (first, second), fallback, frozenset({4}) if fallback else frozenset()))
    return weeks


def _absences(members: Mapping[str, Member], rng: random.Random) -> list[Absence]:
    ids = sorted(members)
    absences = []
    for _ in range(400):  # three years of holidays and sick days for everyone, as a caller would pass them
        first = ITERATION.start - timedelta(days=rng.randint(0, 3 * 365))
        last = first + timedelta(days=rng.randint(0, 10))
        absences.append(Absence(rng.choice(ids), first, last, rng.choice(["manual", "outlook"])))
    for person in rng.sample(ids, 10):  # ten people away for part of the planned iteration
        first = ITERATION.start + timedelta(days=rng.randint(-3, 5))
        absences.append(Absence(person, first, first + timedelta(days=rng.randint(0, 6)), "outlook"))
    return absences


# --- The naive reference ---------------------------------------------------------------------------------


def naive_suggest(
    iteration: Iteration,
    members: Mapping[str, Member],
    calendar: TeamCalendar,
    absences: Sequence[Absence],
    history: Sequence[RotationWeek],
    today: date,
    skip: int = 0,
) -> Suggestion:
    """Every pair, checked with check_team and scored by scanning all of history; a fallback where needed."""
    active = sorted(p for p, m in members.items() if m.active)
    working = sum(1 for d in iteration.days() if calendar.is_working_day(d))
    teams = []
    for a, b in combinations(active, 2):
        pair = tuple(sorted((a, b), key=lambda p: (not members[p].production_access, p)))
        if not members[pair[0]].production_access:
            continue  # no fallback can fix a pair without production access
        plain = RotationWeek(iteration.start, pair, length_days=iteration.length_days)
        score = _naive_penalty(a, iteration, members, history) + _naive_penalty(b, iteration, members, history)
        score += _naive_pair_penalty(a, b, iteration, members, history)
        if check_team(plain, members, calendar, absences, history).valid:
            teams.append(((score, tuple(sorted(pair)), ""), plain))
            continue
        short = [c for c in coverage(plain, members, calendar, absences) if not c.ok]
        needed = [c.day for c in short]
        needs_production = any(not c.has_production for c in short)
        fitting = [
            f for f in active
            if f not in pair and _can_cover(f, needed, members, absences)
            and (members[f].production_access or not needs_production)
        ]
        for penalty, f in sorted((_naive_penalty(f, iteration, members, history), f) for f in fitting):
            days = frozenset(d.weekday() for d in needed)
            week = RotationWeek(iteration.start, pair, f, days, length_days=iteration.length_days)
            if check_team(week, members, calendar, absences, history).valid:
                share = -(-penalty * len(needed) // working)
                cost = planning.FALLBACK_BASE_COST + planning.FALLBACK_COST_PER_DAY * len(needed) + share
                teams.append(((score + cost, tuple(sorted(pair)), f), week))
                break
    teams.sort(key=lambda t: t[0])
    if skip >= len(teams):
        return Suggestion(None, why_none=["no team"])
    week = teams[skip][1]
    observer = _naive_observer(week, iteration, members, calendar, absences, history)
    week = RotationWeek(week.start, week.pair, week.fallback, week.fallback_days, observer, week.length_days)
    return Suggestion(week, {}, check_team(week, members, calendar, absences, history), [])


def _can_cover(person: str, days: Sequence[date], members: Mapping[str, Member], absences: Sequence[Absence]) -> bool:
    # A cheap pre-filter (present on every needed day); check_team still has the last word.
    away = absent_days(absences, person)
    return all(members[person].works_on(d) and d not in away for d in days)


def _naive_served(person: str, iteration: Iteration, history: History) -> list[date]:
    return [w.start for w in history if w.start < iteration.start and person in (*w.pair, w.fallback)]


def _naive_observed(person: str, iteration: Iteration, members: Roster, history: History) -> bool:
    earlier = (w for w in history if w.start < iteration.start)
    return members[person].observer_done or any(w.observer == person for w in earlier)


def _naive_penalty(person: str, iteration: Iteration, members: Roster, history: History) -> int:
    served = _naive_served(person, iteration, history)
    previous, two_ago = iteration.previous(), iteration.previous().previous()
    recent = sum(1 for s in served if s >= iteration.start - planning.FAIRNESS_WINDOW)
    penalty = planning.WEIGHT_PER_RECENT_SERVICE * recent
    if served:
        penalty += max(0, planning.RECENCY_HORIZON_WEEKS - (iteration.start - max(served)).days // 7)
    if any(previous.includes(s) for s in served):
        penalty += planning.PENALTY_SERVED_LAST_ITERATION
    elif any(two_ago.includes(s) for s in served):
        penalty += planning.PENALTY_SERVED_TWO_ITERATIONS_AGO
    if not served and not _naive_observed(person, iteration, members, history):
        penalty += planning.PENALTY_NOT_OBSERVED_YET
    return penalty


def _naive_is_new(person: str, iteration: Iteration, members: Roster, history: History) -> bool:
    joined = members[person].joined
    recent = joined is not None and joined > iteration.start - planning.NEW_MEMBER_WINDOW
    return recent or len(_naive_served(person, iteration, history)) <= planning.NEW_MEMBER_MAX_SERVICES


def _naive_pair_penalty(a: str, b: str, iteration: Iteration, members: Roster, history: History) -> int:
    previous = iteration.previous()
    penalty = 0
    if any(previous.includes(w.start) and set(w.pair) == {a, b} for w in history):
        penalty += planning.PENALTY_SAME_PAIR_AS_LAST_ITERATION
    for newcomer, partner in ((a, b), (b, a)):
        mentor = members[partner].production_access and not _naive_is_new(partner, iteration, members, history)
        if _naive_is_new(newcomer, iteration, members, history) and not mentor:
            penalty += planning.PENALTY_NEW_MEMBER_WITHOUT_MENTOR
    return penalty


def _naive_observer(
    week: RotationWeek,
    iteration: Iteration,
    members: Roster,
    calendar: TeamCalendar,
    absences: Sequence[Absence],
    history: History,
) -> str | None:
    working = [d for d in iteration.days() if calendar.is_working_day(d)]
    waiting = []
    for p in sorted(members):
        m = members[p]
        if not m.active or p in week.people():
            continue
        if _naive_served(p, iteration, history) or _naive_observed(p, iteration, members, history):
            continue
        present = any(m.works_on(d) and not any(a.person == p and a.covers(d) for a in absences) for d in working)
        waiting.append((not present, m.joined or date.max, p))
    return min(waiting)[2] if waiting else None


# --- Timing and the report -------------------------------------------------------------------------------


def time_runs(call: Callable[[], Suggestion], runs: int, warmup: int) -> tuple[list[float], Suggestion]:
    """Milliseconds per call over `runs` calls, after `warmup` untimed ones; and the last result."""
    result = None
    for _ in range(warmup):
        result = call()
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - began) * 1000)
    return timings, result


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(timings: Sequence[float]) -> dict[str, float | int]:
    """Runs, median, p95, max and min in milliseconds."""
    return {
        "runs": len(timings),
        "median_ms": round(statistics.median(timings), 3),
        "p95_ms": round(percentile(timings, 95), 3),
        "max_ms": round(max(timings), 3),
        "min_ms": round(min(timings), 3),
    }


def describe(week: RotationWeek | None, members: Mapping[str, Member]) -> dict[str, object] | None:
    """The suggested week in plain values, for the JSON and for comparing ours with the baseline."""
    if week is None:
        return None
    name = lambda p: members[p].display_name if p else None  # noqa: E731
    return {
        "pair": sorted(name(p) for p in week.pair),
        "fallback": name(week.fallback),
        "fallback_days": sorted(week.fallback_days),
        "observer": name(week.observer),
    }




def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.suggest", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed calls of ours per case (default 50)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="timed calls of the baseline (default 3; it is slow)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before timing ours (default 3)")
    parser.add_argument("--seed", type=int, default=2026, help="seed for the generated team (default 2026)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON goes")
    return parser.parse_args(argv)


def print_table(result: dict) -> None:
    """The figures as a small table on stdout."""
    data = result["data"]
    print(f"suggest(): {data['members']} members ({data['active']} active), "
          f"{data['history_weeks']} weeks of history, {data['absences']} absences; iteration {data['iteration']}")
    print(f"{'case':<30}{'runs':>6}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}")
    for case, figures in result["cases"].items():
        runs, median, p95, worst = figures["runs"], figures["median_ms"], figures["p95_ms"], figures["max_ms"]
        print(f"{case:<30}{runs:>6}{median:>12.3f}{p95:>10.3f}{worst:>10.3f}")
    ratio = result["ratio_ours_to_baseline"]
    print(f"ratio ours/baseline (skip=0): median {ratio['median']}, p95 {ratio['p95']}")
    target = result["target"]
    print(f"target: p95 < {target['limit_ms']:.0f} ms per call -> {'met' if target['met'] else 'MISSED'} "
          f"(worst p95 of ours: {target['worst_p95_ms']} ms)")
    same = ", ".join(f"{case} {'yes' if ok else 'NO'}" for case, ok in result["same_as_baseline"].items())
    print(f"same team as the baseline: {same}")
    print(f"first call in a fresh process (builds the year's holiday table): {result['first_call_ms']} ms")
    print(f"suggested: {result['suggested']}")
    print(f"wrote {result['output']}")


def main(argv: list[str] | None = None) -> int:
    """Build the data, time ours and the baseline, print the table and write the JSON."""
    args = parse_args(argv)
    members, history, absences = build_team(args.seed)

    def ours(skip: int) -> Callable[[], Suggestion]:
        return lambda: suggest(ITERATION, members, CALENDAR, absences, history, TODAY, skip)

    def baseline(skip: int) -> Callable[[], Suggestion]:
        return lambda: naive_suggest(ITERATION, members, CALENDAR, absences, history, TODAY, skip)

    # The very first call also builds the holiday table for the year (cached by TeamCalendar); reported apart.
    first_call, _ = time_runs(ours(0), 1, 0)
    cases: dict[str, dict] = {}
    ours_timings, ours_result = time_runs(ours(0), args.runs, args.warmup)
    cases["ours skip=0"] = summary(ours_timings)
    another_timings, another_result = time_runs(ours(SKIP_ANOTHER), args.runs, args.warmup)
    cases[f"ours skip={SKIP_ANOTHER} (another)"] = summary(another_timings)
    baseline_timings, baseline_result = time_runs(baseline(0), args.baseline_runs, 0)
    cases["baseline skip=0"] = summary(baseline_timings)
    baseline_another_timings, baseline_another = time_runs(baseline(SKIP_ANOTHER), 1, 0)
    cases[f"baseline skip={SKIP_ANOTHER} (another)"] = summary(baseline_another_timings)

    ours_fig, base_fig = cases["ours skip=0"], cases["baseline skip=0"]
    worst_p95 = max(ours_fig["p95_ms"], cases[f"ours skip={SKIP_ANOTHER} (another)"]["p95_ms"])
    same = {
        "skip=0": describe(ours_result.week, members) == describe(baseline_result.week, members),
        f"skip={SKIP_ANOTHER}": describe(another_result.week, members) == describe(baseline_another.week, members),
    }
    result = {
        "bench": "suggest",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **git_state(),
        "machine": machine(),
        "params": {"runs": args.runs, "baseline_runs": args.baseline_runs, "warmup": args.warmup, "seed": args.seed},
        "data": {
            "members": len(members),
            "active": sum(m.active for m in members.values()),
            "history_weeks": len(history),
            "absences": len(absences),
            "iteration": ITERATION.label(),
        },
        "cases": cases,
        "ratio_ours_to_baseline": {
            "median": round(ours_fig["median_ms"] / base_fig["median_ms"], 5),
            "p95": round(ours_fig["p95_ms"] / base_fig["p95_ms"], 5),
        },
        "target": {
            "limit_ms": TARGET_MS, "statistic": "p95 per call", "worst_p95_ms": worst_p95, "met": worst_p95 < TARGET_MS,
        },
        "first_call_ms": round(first_call[0], 3),
        "same_as_baseline": same,
        "suggested": describe(ours_result.week, members),
        "reasons": {members[p].display_name: why for p, why in ours_result.reasons.items()},
        "warnings": ours_result.verdict.warnings,
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
