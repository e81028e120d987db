"""What cards show, as plain data: the services build these, cards/ renders them at the edge (cards.render)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping
from zoneinfo import ZoneInfo

from ..domain.alerts import AlertThread
from ..domain.catalogue import Catalogue
from ..domain.iteration import Iteration
from ..domain.jobs import Job
from ..domain.members import Member
from ..domain.planning import DayCoverage, Verdict
from ..domain.requests import SupportRequest
from ..domain.rotation import RotationWeek
from ..domain.stats import Figures
from ..domain.status import SupportStatus

# The value of "— nobody —" in the pick card's edit form, shared by the card and its handler.
NOBODY = "none"


@dataclass(frozen=True)
class WhoView:
    """The who card: this iteration's team, today's duty, the next team."""

    status: SupportStatus


@dataclass(frozen=True)
class RequestView:
    """A request's triage card; `link` opens its thread, `entries` are the handbook's (id, title) for linking."""

    request: SupportRequest
    catalogue: Catalogue
    tz: ZoneInfo
    link: str
    entries: tuple[tuple[str, str], ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)  # deep links of the other requests the card names
    notice: str = ""  # for the clicker only: why their click changed nothing (shown at the top)


@dataclass(frozen=True)
class AlertView:
    """A Bugsnag alert's card; `support` names who is on support today."""

    thread: AlertThread
    support: str
    tz: ZoneInfo


@dataclass(frozen=True)
class PlanView:
    """The pick card for an iteration: a team (suggested or edited), why, day by day, and its state."""

    iteration: Iteration
    week: RotationWeek | None
    members: Mapping[str, Member]
    verdict: Verdict
    days: list[DayCoverage]
    reasons: Mapping[str, str]
    why_none: list[str]
    revision: int
    confirmed_by: str = ""
    warnings: list[str] = field(default_factory=list)
    saving: bool = False


@dataclass(frozen=True)
class SupersededView:
    """An earlier pick card, pointing to the team's card in the rotation channel."""

    iteration: Iteration
    link: str


@dataclass(frozen=True)
class SwapView:
    """A swap offer to accept or decline; the card carries only the offer's id. `closed` says how it ended."""

    asker: str
    what: str
    swap_id: str = ""
    revision: int = 0
    closed: str = ""


@dataclass(frozen=True)
class MemberView:
    """A lead's editor of one member."""

    member: Member
    saved_by: str = ""


@dataclass(frozen=True)
class StatsView:
    """The figures of a period."""

    figures: Figures


@dataclass(frozen=True)
class JobsView:
    """The parked jobs, for leads."""

    jobs: list[Job]
    tz: ZoneInfo
    now: datetime
    notice: str = ""
