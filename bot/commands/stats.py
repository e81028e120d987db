"""stats: the support figures of this iteration, the last one, or a calendar month, as a card."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..core.events import Card, Content, Scope, Text
from ..core.routing import CommandRequest, CommandRouter
from ..core.views import StatsView
from ..domain.iteration import IterationPolicy
from ..domain.stats import USAGE, PeriodProblem, parse_period
from ..services.ports import RequestRepository
from ..services.stats import period_figures


class Stats:
    """The figures card, read from the requests and alerts."""

    def __init__(self, *, requests: RequestRepository, alerts, policy: IterationPolicy, tz: ZoneInfo,
                 target_seconds: int) -> None:
        self._requests = requests
        self._alerts = alerts
        self._policy = policy
        self._tz = tz
        self._target_seconds = target_seconds

    async def stats(self, request: CommandRequest) -> list[Content]:
        """Answer with the figures card; a period it doesn't understand gets the usage."""
        try:
            period = parse_period(request.args, request.now, self._policy, self._tz)
        except PeriodProblem as problem:
            return [Text(str(problem))]
        figures = await period_figures(period, requests=self._requests, alerts=self._alerts, now=request.now, tz=self._tz,
                                       target_seconds=self._target_seconds)
        return [Card(StatsView(figures), summary=f"Support figures: {period.label}")]

    def register(self, commands: CommandRouter) -> None:
        """Register `stats` (personal chat)."""
        commands.add("stats", self.stats, usage=USAGE, summary="support figures: this iteration, the last one, or a month",
                     scopes=frozenset({Scope.PERSONAL}))
