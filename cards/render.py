"""The one place that turns view data into Adaptive Cards: the adapters call render() at the edge."""

from __future__ import annotations

from typing import Any, Callable

from bot.core.views import (
    AlertView, JobsView, MemberView, PlanView, RequestView, StatsView, SupersededView, SwapView, WhoView,
)

from .alert import alert_card
from .jobs import parked_jobs_card
from .people import member_card, swap_card
from .request import request_card
from .rotation import plan_card, superseded_card
from .stats import stats_card
from .who import who_card

_RENDERERS: dict[type, Callable[[Any], dict]] = {
    WhoView: lambda v: who_card(v.status),
    RequestView: lambda v: request_card(v.request, v.catalogue, v.tz, v.link, list(v.entries), dict(v.links), v.notice),
    AlertView: lambda v: alert_card(v.thread, v.support, v.tz),
    PlanView: lambda v: plan_card(v.iteration, v.week, dict(v.members), v.verdict, v.days, dict(v.reasons), v.why_none,
                                  v.revision, confirmed_by=v.confirmed_by, warnings_extra=v.warnings, saving=v.saving),
    SupersededView: lambda v: superseded_card(v.iteration, v.link),
    SwapView: swap_card,
    MemberView: lambda v: member_card(v.member, v.saved_by),
    StatsView: lambda v: stats_card(v.figures),
    JobsView: lambda v: parked_jobs_card(v.jobs, v.tz, v.now, v.notice),
}


def render(view: Any) -> dict:
    """The Adaptive Card 1.5 of a view; a dict is a card rendered already (one that waited in the outbox)."""
    if isinstance(view, dict):
        return view
    try:
        renderer = _RENDERERS[type(view)]
    except KeyError:
        raise TypeError(f"no card renders {type(view).__name__}") from None
    return renderer(view)
