"""The outbox: a reply Teams can't take now is queued as a job; one nothing can hold is a warning, not a failed turn."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from bot.core.events import Text
from bot.domain.address import Address
from bot.domain.errors import StorageUnavailable
from bot.domain.jobs import RetryLater
from bot.services.jobs import JobRunner
from bot.services.outbox import Outbox
from tests.unit.test_job_runner import FakeJobs

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
HERE = Address("ref", "19:c@thread.tacv2", "m1")


class StorageDown(FakeJobs):
    async def add(self, job):
        raise StorageUnavailable("enqueueing job: Table Storage did not answer (ServiceRequestError)")


async def teams_busy(reply) -> str:
    raise RetryLater("Teams answered 429", 2)


async def test_a_reply_teams_cannot_take_now_is_queued_in_order():
    jobs = FakeJobs()
    outbox = Outbox(JobRunner(jobs, lambda: NOW), messenger=None, clock=lambda: NOW, render=dict)
    await outbox.deliver(teams_busy, [Text("one"), Text("two")], HERE, "reply|m1")
    assert sorted(jobs.rows) == ["outbox|reply|m1|0", "outbox|reply|m1|1"]
    assert {s.value.payload["lane"] for s in jobs.rows.values()} == {"conversation|19:c@thread.tacv2|m1"}


async def test_a_reply_neither_teams_nor_storage_takes_is_one_warning_and_the_turn_goes_on(caplog):
    outbox = Outbox(JobRunner(StorageDown(), lambda: NOW), messenger=None, clock=lambda: NOW, render=dict)
    with caplog.at_level(logging.WARNING):
        await outbox.deliver(teams_busy, [Text("My storage is down …")], HERE, "reply|m1")
    assert "could not be sent" in caplog.text and "nor queued" in caplog.text
