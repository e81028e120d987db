"""Against Azurite: alert threads by opening time, and a period's figures from both repositories."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.services.stats import period_figures
from bot.storage.alerts import TableAlertRepository
from bot.storage.requests import TableRequestRepository
from tests.support.figures import BERLIN, NOVEMBER, NOW, REQUESTS, THREADS, thread


async def test_threads_opened_in_a_window_oldest_first_bounds_half_open(store):
    alerts = TableAlertRepository(store)
    at_start = thread(NOVEMBER.first, 1)
    just_after_start = thread(NOVEMBER.first + timedelta(microseconds=1500), 1)  # stored with a fraction
    last_moment = thread(NOVEMBER.after - timedelta(microseconds=1), 1)
    at_end = thread(NOVEMBER.after, 1)
    before = thread(NOVEMBER.first - timedelta(seconds=1), 1)
    never_opened = replace(thread(NOVEMBER.first + timedelta(days=3), 1), key="no-opening", opened_at=None)
    for t in (last_moment, at_end, before, at_start, never_opened, just_after_start):
        await alerts.add(t)
    found = await alerts.opened_between(NOVEMBER.first, NOVEMBER.after)
    assert [t.key for t in found] == [at_start.key, just_after_start.key, last_moment.key]
    assert found[0].opened_at == NOVEMBER.first


async def test_figures_from_storage_match_the_figures_in_memory(store):
    requests, alerts = TableRequestRepository(store), TableAlertRepository(store)
    for r in REQUESTS:
        await requests.add(r)
    for t in THREADS:
        await alerts.add(t)
    figures = await period_figures(NOVEMBER, requests=requests, alerts=alerts, now=NOW, tz=BERLIN)
    assert (figures.requests, figures.breaches, figures.median_seconds, figures.p90_seconds) == (7, 2, 105, 450)
    assert (figures.tickets, figures.alerts, figures.alert_events, figures.alerts_handled) == (3, 3, 9, 2)
