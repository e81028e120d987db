"""The support catalogue (SUPPORT_CONFIG): request channels, working hours, trainers, docs, admin pages, owners, Jira."""

from __future__ import annotations


from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..domain.calendar import TeamCalendar
from ..domain.catalogue import AskTeam, Catalogue, Contact, Link, Trainer
from ..domain.ids import is_guid
from ..domain.members import WORKING_WEEK, parse_weekday
from .yaml_lines import LineMap, Problems, YamlProblem, line_of, load_yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "support.example.yaml"
TOP_LEVEL = {
    "request_channels", "working_hours", "trainers", "docs", "admin_pages", "owners", "self_service", "jira",
    "ask_team",
}
_STATES = {"BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"}


class CatalogueError(ValueError):
    """The file has problems; each message starts with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(entry: Any, name: str, where: str, problems: Problems, required: bool = True) -> str:
    value = entry.get(name) if isinstance(entry, LineMap) else None
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.add(line_of(entry, name), f"{where}.{name} must be non-empty text")
        return ""
    return value.strip()


def _url(entry: Any, name: str, where: str, problems: Problems) -> str:
    value = _text(entry, name, where, problems)
    if value and not value.startswith(("https://", "http://")):
        problems.add(line_of(entry, name), f"{where}.{name} must be an http(s) URL")
    return value


def _list(data: LineMap, name: str, problems: Problems) -> list:
    value = data.get(name) or []
    if not isinstance(value, list):
        problems.add(line_of(data, name), f"{name} must be a list")
        return []
    for i, entry in enumerate(value):
        if not isinstance(entry, LineMap):
            problems.add(line_of(data, name), f"{name}[{i}] must be a mapping")
    return [entry for entry in value if isinstance(entry, LineMap)]


def _clock(entry: LineMap, name: str, default: time, problems: Problems) -> time:
    raw = entry.get(name)
    if raw is None:
        return default
    # YAML 1.1 reads 09:00 as the sexagesimal number 540; accept that as minutes.
    if isinstance(raw, int) and 0 <= raw <= 24 * 60:
        return time.max if raw == 24 * 60 else time(raw // 60, raw % 60)
    if str(raw) == "24:00":
        return time.max
    try:
        return time.fromisoformat(str(raw))
    except ValueError:
        problems.add(line_of(entry, name), f"working_hours.{name} must be a time such as \"09:00\"")
        return default


def _calendar(data: LineMap, tz: ZoneInfo, problems: Problems) -> TeamCalendar:
    hours = data.get("working_hours")
    if hours is None:
        return TeamCalendar(tz=tz)
    if not isinstance(hours, LineMap):
        problems.add(line_of(data, "working_hours"), "working_hours must be a mapping")
        return TeamCalendar(tz=tz)
    weekdays: set[int] = set()
    raw_days = hours.get("days", ["mon", "tue", "wed", "thu", "fri"])
    if not isinstance(raw_days, list):
        problems.add(line_of(hours, "days"), "working_hours.days must be a list such as [mon, tue]")
        raw_days = []
    for day in raw_days:
        try:
            weekdays.add(parse_weekday(str(day)))
        except ValueError:
            problems.add(line_of(hours, "days"), f"working_hours.days: unknown weekday {day!r}")
    state = str(hours.get("holidays_state", "BE")).upper()
    if state not in _STATES:
        problems.add(line_of(hours, "holidays_state"), f"working_hours.holidays_state must be a German state code such as BE, got {state!r}")
    start, end = _clock(hours, "start", time(9), problems), _clock(hours, "end", time(18), problems)
    if start >= end:
        problems.add(line_of(hours, "end"), "working_hours.end must be after start")
    observe = hours.get("public_holidays", True)
    if not isinstance(observe, bool):
        problems.add(line_of(hours, "public_holidays"), "working_hours.public_holidays must be true or false")
        observe = True
    return TeamCalendar(tz=tz, state=state, weekdays=frozenset(weekdays or WORKING_WEEK), start=start, end=end,
                        public_holidays=observe)


def parse_catalogue(text: str, tz: ZoneInfo) -> Catalogue:
    """Parse and validate a catalogue; CatalogueError lists every problem with its line."""
    problems = Problems()
    try:
        data = load_yaml(text)
    except YamlProblem as err:
        raise CatalogueError([str(err)]) from None
    if not isinstance(data, LineMap):
        raise CatalogueError(["line 1: the file must be a mapping"])
    for unknown in sorted(set(map(str, data)) - TOP_LEVEL):
        problems.add(line_of(data, unknown), f"unknown top-level field {unknown!r}")
    channels = data.get("request_channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) and c.startswith("19:") for c in channels):
        problems.add(line_of(data, "request_channels"), "request_channels must list Teams channel ids (19:…@thread.tacv2)")
        channels = []
    trainers = _people(_list(data, "trainers", problems), "trainers", problems)
    ask_team = _ask_team(data, problems)
    links = {
        kind: tuple(
            Link(_text(e, "title", f"{kind}[{i}]", problems), _url(e, "url", f"{kind}[{i}]", problems))
            for i, e in enumerate(_list(data, kind, problems))
        )
        for kind in ("docs", "admin_pages")
    }
    owners = tuple(
        Contact(_text(e, "name", f"owners[{i}]", problems), _text(e, "contact", f"owners[{i}]", problems))
        for i, e in enumerate(_list(data, "owners", problems))
    )
    self_service = data.get("self_service", "")
    if not isinstance(self_service, str):
        problems.add(line_of(data, "self_service"), "self_service must be text (Markdown)")
        self_service = ""
    jira = data.get("jira") or LineMap()
    if not isinstance(jira, LineMap):
        problems.add(line_of(data, "jira"), "jira must be a mapping with project and issue_type")
        jira = LineMap()
    project = str(jira.get("project", "EDGE"))
    if not project.isalnum() or not project[:1].isalpha() or project.upper() != project:
        problems.add(line_of(jira, "project"), f"jira.project must be a Jira project key such as EDGE, got {project!r}")
    calendar = _calendar(data, tz, problems)
    if problems:
        raise CatalogueError(problems.messages())
    return Catalogue(
        calendar=calendar,
        request_channels=frozenset(channels),
        trainers=tuple(trainers),
        docs=links["docs"],
        admin_pages=links["admin_pages"],
        owners=owners,
        self_service=self_service.strip(),
        jira_project=project,
        jira_issue_type=str(jira.get("issue_type", "Bug")),
        ask_team=ask_team,
    )


def _people(entries: list, where: str, problems: Problems) -> tuple[Trainer, ...]:
    people = []
    for i, entry in enumerate(entries):
        name = _text(entry, "name", f"{where}[{i}]", problems)
        aad = _text(entry, "aad_object_id", f"{where}[{i}]", problems)
        if aad and not is_guid(aad):
            problems.add(line_of(entry, "aad_object_id"), f"{where}[{i}].aad_object_id must be an Entra object id (a GUID)")
        people.append(Trainer(name, aad.lower()))
    return tuple(people)


def _ask_team(data: LineMap, problems: Problems) -> AskTeam:
    ask = data.get("ask_team") or LineMap()
    if not isinstance(ask, LineMap):
        problems.add(line_of(data, "ask_team"), "ask_team must be a mapping with tag_id and tag_name, or people")
        return AskTeam()
    tag_id, tag_name = str(ask.get("tag_id") or ""), str(ask.get("tag_name") or "")
    if bool(tag_id) != bool(tag_name):
        problems.add(line_of(ask, "tag_id" if tag_id else "tag_name"), "ask_team needs both tag_id and tag_name")
    return AskTeam(tag_id, tag_name, _people(_list(ask, "people", problems), "ask_team.people", problems))


def load_catalogue(path: str, tz: ZoneInfo) -> Catalogue:
    """The catalogue from a file path; the bundled example when the path is empty."""
    source = Path(path) if path else EXAMPLE
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as err:
        raise CatalogueError([f"cannot read {source}: {err.strerror}"]) from None
    return parse_catalogue(text, tz)
