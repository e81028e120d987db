"""Team members and their roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKING_WEEK = frozenset(range(5))


class Role(str, enum.Enum):
    """What a member may do: leads may change the rotation for everyone."""

    MEMBER = "member"
    LEAD = "lead"


@dataclass(frozen=True)
class Member:
    """One person on the roster, keyed by their Entra ID (AAD) object id."""

    aad_object_id: str
    display_name: str
    email: str
    production_access: bool = False
    working_weekdays: frozenset[int] = field(default=WORKING_WEEK)
    joined: date | None = None
    observer_done: bool = False
    role: Role = Role.MEMBER
    active: bool = True

    @property
    def is_lead(self) -> bool:
        """True for leads."""
        return self.role is Role.LEAD

    def works_on(self, day: date) -> bool:
        """True when the member's own schedule includes this weekday."""
        return day.weekday() in self.working_weekdays


def weekday_names(days: frozenset[int] | set[int]) -> list[str]:
    """Weekday numbers as short names, Monday first."""
    return [WEEKDAY_NAMES[d] for d in sorted(days)]


_WEEKDAY_WORDS = (
    ("monday", "montag"), ("tuesday", "dienstag"), ("wednesday", "mittwoch"), ("thursday", "donnerstag"),
    ("friday", "freitag"), ("saturday", "samstag"), ("sunday", "sonntag"),
)


def parse_weekday(name: str) -> int:
    """An English or German weekday name, or its start of at least two letters, as a number (Monday is 0)."""
    word = name.strip().lower().rstrip(".")
    found = {day for day, words in enumerate(_WEEKDAY_WORDS) for full in words if len(word) >= 2 and full.startswith(word)}
    if len(found) != 1:
        raise ValueError(f"unknown weekday {name!r}")
    return found.pop()
