"""Swaps: someone offers their iteration or one day to a colleague; the offer is stored, the card carries its id."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import DomainError
from .rotation import Cover, RotationWeek, expected_on
from .text import format_day

OPEN_AT_MOST = timedelta(days=7)


class SwapState(str, enum.Enum):
    """Where an offer stands."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class SwapClosed(DomainError):
    """The offer was answered already, or its time ran out."""


@dataclass(frozen=True)
class Swap:
    """An offer: the giver's place in an iteration (day None) or their duty on one day, to the taker."""

    id: str
    giver: str
    giver_name: str
    taker: str
    taker_name: str
    start: date
    day: date | None
    offered_at: datetime
    open_until: datetime
    state: SwapState = SwapState.OPEN
    answered_at: datetime | None = None
    revision: int = 0

    def what(self, iteration_label: str) -> str:
        """'Wed 2 Dec – Tue 8 Dec 2026' or 'Fri 4 Dec' (the duty offered)."""
        return format_day(self.day) if self.day else iteration_label

    def answered(self, accept: bool, at: datetime) -> "Swap":
        """The offer accepted or declined, once, while it is open."""
        if self.state is not SwapState.OPEN:
            raise SwapClosed(f"{self.taker_name} already {self.state.value} this swap.")
        if at > self.open_until:
            raise SwapClosed("This swap offer has expired; ask for a new one.")
        state = SwapState.ACCEPTED if accept else SwapState.DECLINED
        return replace(self, state=state, answered_at=at, revision=self.revision + 1)


def open_until(offered_at: datetime, week: RotationWeek, day: date | None, tz: ZoneInfo) -> datetime:
    """An offer stays open until the duty it offers is over, and a week at most."""
    last = day or week.iteration.end
    ends = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    return min(ends, offered_at + OPEN_AT_MOST)


def check_offer(week: RotationWeek, giver: str, taker: str, day: date | None) -> None:
    """The offer makes sense for this week: the giver serves then, the taker is someone else not already serving."""
    if taker == giver:
        raise DomainError("That's you.")
    if day is None:
        if not week.serves(giver):
            raise DomainError("You are not serving in that iteration.")
        if taker in week.pair:
            raise DomainError("They are already in the pair that iteration.")
    elif giver not in expected_on(week, day):
        raise DomainError(f"You are not on duty on {format_day(day)}.")
    elif taker in expected_on(week, day):
        raise DomainError(f"They are on duty on {format_day(day)} already.")


def swapped(week: RotationWeek, giver: str, taker: str, day: date | None) -> RotationWeek:
    """The week with the taker in the giver's place: for the whole iteration, or as a stand-in on one day.

    Applying an accepted swap twice changes nothing (a double click, or a retry after a failed write),
    and a day swap keeps the week's fallback and its days.
    """
    try:
        if day is not None:
            if any(c.day == day and c.replaces == giver and c.person == taker for c in week.covers):
                return week
            return week.with_cover(Cover(day, taker, giver))
        if giver not in week.pair and week.fallback != giver and (taker in week.pair or week.fallback == taker):
            return week  # applied already
        pair = tuple(taker if p == giver else p for p in week.pair)
        fallback = taker if week.fallback == giver else week.fallback
        if pair == week.pair and fallback == week.fallback:
            raise DomainError("The giver no longer serves in that iteration.")
        if fallback == taker and taker in pair:
            fallback = None  # the fallback moves up into the pair
        covers = tuple(Cover(c.day, c.person, taker if c.replaces == giver else c.replaces) for c in week.covers
                       if c.person != taker)
        return replace(week, pair=pair, fallback=fallback, fallback_days=week.fallback_days if fallback else frozenset(),
                       covers=covers)
    except ValueError as err:
        raise DomainError(f"{str(err).capitalize()}.") from None
