"""stats: the support figures of this iteration, the last one, or a calendar month, as a card."""

from __future__ import annotations

from cards.stats import stats_card

from ..domain.messages import Card, Reply, Text
from ..domain.stats import USAGE, PeriodProblem, parse_period
from ..services.stats import period_figures
from .router import CommandRequest, Scope, router


@router.command("stats", usage=USAGE, summary="support figures: this iteration, the last one, or a month",
                scopes=frozenset({Scope.PERSONAL}))
async def stats(request: CommandRequest) -> list[Reply]:
    """Answer with the figures card; a period it doesn't understand gets the usage."""
    s = request.services
    try:
        period = parse_period(request.args, request.now, s.policy, s.settings.tz)
    except PeriodProblem as problem:
        return [Text(str(problem))]
    figures = await period_figures(period, requests=s.requests, alerts=s.alerts, now=request.now, tz=s.settings.tz,
                                   target_seconds=s.settings.first_response_target_seconds)
    return [Card(stats_card(figures), summary=f"Support figures: {period.label}")]
