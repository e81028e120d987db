"""The roster as a YAML file: parse with line numbers, validate everything, dump back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from ..domain.errors import FileProblems
from ..domain.ids import is_guid
from ..domain.iteration import IterationPolicy
from ..domain.members import WEEKDAY_NAMES, WORKING_WEEK, Member, Role, parse_weekday, weekday_names
from ..domain.rotation import RotationWeek
from .yaml_lines import LineMap, Problems, YamlProblem, line_of, load_yaml

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MEMBER_FIELDS = {
    "name", "email", "aad_object_id", "production_access", "working_days",
    "joined", "observer_done", "role", "active",
}
WEEK_FIELDS = {"start", "pair", "fallback", "fallback_days", "observer"}


class RosterFileError(FileProblems):
    """The roster file has problems; nothing was written."""


@dataclass(frozen=True)
class RosterDocument:
    """The members and rotation weeks a roster file holds."""

    members: list[Member]
    weeks: list[RotationWeek]


def _bool(entry: LineMap, field: str, default: bool, where: str, problems: Problems) -> bool:
    value = entry.get(field, default)
    if not isinstance(value, bool):
        problems.add(line_of(entry, field), f"{where}.{field} must be true or false")
        return default
    return value


def _member(entry: Any, where: str, problems: Problems) -> Member | None:
    if not isinstance(entry, LineMap):
        problems.add(line_of(entry), f"{where} must be a mapping with name, email, aad_object_id, ...")
        return None
    before = len(problems)
    for unknown in sorted(set(map(str, entry)) - MEMBER_FIELDS):
        problems.add(line_of(entry, unknown), f"{where}: unknown field {unknown!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(line_of(entry, "name"), f"{where}.name is required")
    email = entry.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email):
        problems.add(line_of(entry, "email"), f"{where}.email must be an e-mail address")
    aad = entry.get("aad_object_id")
    if not is_guid(aad):
        problems.add(line_of(entry, "aad_object_id"), f"{where}.aad_object_id must be an Entra object id (a GUID)")
    days = entry.get("working_days", list(weekday_names(WORKING_WEEK)))
    weekdays: set[int] = set()
    if not isinstance(days, list) or not days:
        problems.add(line_of(entry, "working_days"), f"{where}.working_days must be a list such as [mon, tue]")
    else:
        for day in days:
            try:
                weekdays.add(parse_weekday(str(day)))
            except ValueError:
                problems.add(line_of(entry, "working_days"), f"{where}.working_days: unknown weekday {day!r}")
    joined = entry.get("joined")
    if joined is not None and not isinstance(joined, date):
        problems.add(line_of(entry, "joined"), f"{where}.joined must be a date such as 2024-03-01")
    role = entry.get("role", "member")
    if role not in {r.value for r in Role}:
        problems.add(line_of(entry, "role"), f"{where}.role must be member or lead")
    production = _bool(entry, "production_access", False, where, problems)
    observer_done = _bool(entry, "observer_done", False, where, problems)
    active = _bool(entry, "active", True, where, problems)
    if len(problems) > before:
        return None
    return Member(
        aad_object_id=aad.lower(),
        display_name=name.strip(),
        email=email.strip().lower(),
        production_access=production,
        working_weekdays=frozenset(weekdays),
        joined=joined,
        observer_done=observer_done,
        role=Role(role),
        active=active,
    )


def _person(entry: LineMap, field: str, value: Any, where: str, people: dict[str, str], problems: Problems) -> str | None:
    if not isinstance(value, str) or value.strip().lower() not in people:
        problems.add(line_of(entry, field), f"{where}.{field}: {value!r} is not a member of this file (use their email)")
        return None
    return people[value.strip().lower()]


def _week(entry: Any, where: str, people: dict[str, str], policy: IterationPolicy, problems: Problems) -> RotationWeek | None:
    if not isinstance(entry, LineMap):
        problems.add(line_of(entry), f"{where} must be a mapping with start and pair")
        return None
    before = len(problems)
    for unknown in sorted(set(map(str, entry)) - WEEK_FIELDS):
        problems.add(line_of(entry, unknown), f"{where}: unknown field {unknown!r}")
    start = entry.get("start")
    if not isinstance(start, date):
        problems.add(line_of(entry, "start"), f"{where}.start must be a date such as 2026-12-02")
    elif not policy.is_start(start):
        problems.add(
            line_of(entry, "start"),
            f"{where}.start {start.isoformat()} is a {WEEKDAY_NAMES[start.weekday()]}; iterations start on "
            f"{WEEKDAY_NAMES[policy.start_weekday]}",
        )
    pair = entry.get("pair")
    chosen: list[str] = []
    if not isinstance(pair, list) or len(pair) != 2:
        problems.add(line_of(entry, "pair"), f"{where}.pair must list exactly two members")
    else:
        chosen = [p for p in (_person(entry, "pair", value, where, people, problems) for value in pair) if p]
        if len(chosen) == 2 and chosen[0] == chosen[1]:
            problems.add(line_of(entry, "pair"), f"{where}.pair names the same person twice")
    fallback = entry.get("fallback")
    fallback_id = _person(entry, "fallback", fallback, where, people, problems) if fallback is not None else None
    days = entry.get("fallback_days", [])
    fallback_days: set[int] = set()
    if not isinstance(days, list):
        problems.add(line_of(entry, "fallback_days"), f"{where}.fallback_days must be a list such as [fri]")
    else:
        for day in days:
            try:
                fallback_days.add(parse_weekday(str(day)))
            except ValueError:
                problems.add(line_of(entry, "fallback_days"), f"{where}.fallback_days: unknown weekday {day!r}")
    if fallback_days and fallback is None:
        problems.add(line_of(entry, "fallback_days"), f"{where}.fallback_days needs a fallback")
    if fallback_id and fallback_id in chosen:
        problems.add(line_of(entry, "fallback"), f"{where}.fallback must not be one of the pair")
    observer = entry.get("observer")
    observer_id = _person(entry, "observer", observer, where, people, problems) if observer is not None else None
    if observer_id and (observer_id in chosen or observer_id == fallback_id):
        problems.add(line_of(entry, "observer"), f"{where}.observer must not also serve that week")
    if len(problems) > before:
        return None
    return RotationWeek(
        start=start,
        pair=(chosen[0], chosen[1]),
        fallback=fallback_id,
        fallback_days=frozenset(fallback_days),
        observer=observer_id,
        length_days=policy.length_days,
    )


def parse_roster(text: str, policy: IterationPolicy) -> RosterDocument:
    """Parse and validate a roster file; RosterFileError lists every problem with its line."""
    problems = Problems()
    try:
        data = load_yaml(text)
    except YamlProblem as err:
        raise RosterFileError([str(err)]) from None
    if not isinstance(data, LineMap):
        raise RosterFileError(["line 1: the file must be a mapping with 'members' (and optionally 'weeks')"])
    for unknown in sorted(set(map(str, data)) - {"members", "weeks"}):
        problems.add(line_of(data, unknown), f"unknown top-level field {unknown!r}")
    raw_members = data.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        problems.add(line_of(data, "members"), "'members' must be a non-empty list")
        raw_members = []
    members = [m for i, entry in enumerate(raw_members) if (m := _member(entry, f"members[{i}]", problems))]
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(raw_members):
        for field in ("email", "aad_object_id") if isinstance(entry, LineMap) else ():
            value = str(entry.get(field, "")).strip().lower()
            if value and (field, value) in seen:
                problems.add(line_of(entry, field), f"members[{i}].{field} {value!r} appears twice")
            seen.add((field, value))
    people = {m.email: m.aad_object_id for m in members} | {m.aad_object_id: m.aad_object_id for m in members}
    raw_weeks = data.get("weeks") or []
    if not isinstance(raw_weeks, list):
        problems.add(line_of(data, "weeks"), "'weeks' must be a list")
        raw_weeks = []
    weeks = [w for i, entry in enumerate(raw_weeks) if (w := _week(entry, f"weeks[{i}]", people, policy, problems))]
    starts: set[date] = set()
    for i, week in enumerate(weeks):
        if week.start in starts:
            problems.add(line_of(raw_weeks[i], "start"), f"weeks: {week.start.isoformat()} appears twice")
        starts.add(week.start)
    if problems:
        raise RosterFileError(problems.messages())
    return RosterDocument(members, weeks)


def dump_roster(document: RosterDocument) -> str:
    """The roster as YAML in the same schema parse_roster reads."""
    emails = {m.aad_object_id: m.email for m in document.members}
    members = [
        {
            "name": m.display_name,
            "email": m.email,
            "aad_object_id": m.aad_object_id,
            "production_access": m.production_access,
            "working_days": weekday_names(m.working_weekdays),
            **({"joined": m.joined} if m.joined else {}),
            "observer_done": m.observer_done,
            "role": m.role.value,
            **({} if m.active else {"active": False}),
        }
        for m in document.members
    ]
    weeks = []
    for w in document.weeks:
        entry: dict[str, Any] = {"start": w.start, "pair": [emails.get(p, p) for p in w.pair]}
        if w.fallback:
            entry["fallback"] = emails.get(w.fallback, w.fallback)
            entry["fallback_days"] = weekday_names(w.fallback_days)
        if w.observer:
            entry["observer"] = emails.get(w.observer, w.observer)
        weeks.append(entry)
    return yaml.safe_dump({"members": members, "weeks": weeks}, sort_keys=False, allow_unicode=True)
