"""Load a period's requests and alert threads and compute its figures: shared by `stats` and the handover."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from ..domain.alerts import AlertThread
from ..domain.stats import Figures, Period, compute
from .ports import RequestRepository


class AlertsInWindow(Protocol):
    """Alert threads by opening time."""

    async def opened_between(self, first: datetime, last: datetime) -> list[AlertThread]: ...


async def period_figures(period: Period, *, requests: RequestRepository, alerts: AlertsInWindow | None, now: datetime,
                         tz: ZoneInfo, target_seconds: int = 300) -> Figures:
    """The figures of a period from storage; without an alerts repository the alert figures are zero."""
    found = await requests.received_between(period.first, period.after)
    threads = await alerts.opened_between(period.first, period.after) if alerts is not None else []
    return compute(period, found, threads, now, tz, target_seconds)
