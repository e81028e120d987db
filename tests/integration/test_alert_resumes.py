"""An alert's card job that fails after the post: its retry does the steps after it (the real core over Azurite)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot.core.events import Person
from bot.domain.alerts import Alert
from bot.domain.errors import StorageUnavailable
from bot.domain.rotation import RotationWeek
from tests.support.week import WeekHarness, member, where

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a Tuesday, 10:00 in Berlin: working hours
ALERTS = "19:alerts0channel@thread.tacv2"


class LoseOneEnqueue:
    """The jobs table, down for the one enqueue a test names (storage stopped right then)."""

    def __init__(self, jobs, prefix: str) -> None:
        self._jobs = jobs
        self._prefix = prefix

    async def add(self, job):
        if self._prefix and job.id.startswith(self._prefix):
            self._prefix = ""
            raise StorageUnavailable(f"enqueueing job {job.id}: Table Storage did not answer (ServiceRequestError)")
        return await self._jobs.add(job)

    def __getattr__(self, name):
        return getattr(self._jobs, name)


async def test_an_alert_card_job_that_failed_after_the_post_still_queues_both_escalations(azurite):
    bot = WeekHarness(azurite.connection_string, "al" + uuid.uuid4().hex[:10], START)
    lars = member("lars", "Lars Lead", production=True, lead=True)
    await bot.open([member("dora", "Dora Dev", production=True), member("paula", "Paula Pair"), lars],
                   [RotationWeek(bot.services.policy.at(START, BERLIN).start, ("dora", "paula"))])
    try:
        await bot.core.alert_desk.set_channel(where(ALERTS), Person("lars", "Lars Lead"))
        alert = Alert("p1", "backend", "firstException", "New exception", error_id="e1", exception_class="NoMethodError",
                      release_stage="production")
        # The card goes out and is recorded; storage stops just as the lead escalation is queued.
        bot.services.jobs.repository = LoseOneEnqueue(bot.services.jobs.repository, "alert-escalate|")
        await bot.core.alert_desk.accept(alert)
        await bot.settle()
        await bot.advance(30 * 60)
        cards = [s for s in bot.messenger.sent if s.conversation == ALERTS and s.kind == "post"]
        marks = [s.text[0] for s in bot.messenger.sent if s.text.startswith(("⏰", "🚨"))]
        assert len(cards) == 1 and marks == ["⏰", "🚨"]
    finally:
        await bot.close()
