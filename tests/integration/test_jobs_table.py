"""The job queue in Azurite: one lease wins, stale writes lose, due jobs come back after their lease."""

from datetime import datetime, timedelta, timezone

from bot.domain.jobs import Job
from bot.storage.jobs import TableJobRepository

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


async def test_enqueue_is_idempotent_and_due_respects_time(store):
    jobs = TableJobRepository(store)
    assert await jobs.add(Job("a", "k", NOW, {"x": "ä"})) is not None
    assert await jobs.add(Job("a", "k", NOW)) is None
    await jobs.add(Job("later", "k", NOW + timedelta(minutes=5)))
    due = await jobs.due(NOW)
    assert [s.value.id for s in due] == ["a"] and due[0].value.payload == {"x": "ä"}


async def test_two_instances_taking_the_same_job_one_wins(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW))
    (seen_by_one,) = await jobs.due(NOW)
    (seen_by_two,) = await jobs.due(NOW)
    one = await jobs.take(seen_by_one, seen_by_one.value.leased("one", NOW, 60))
    two = await jobs.take(seen_by_two, seen_by_two.value.leased("two", NOW, 60))
    assert (one is None) != (two is None)
    assert await jobs.due(NOW) == []  # leased
    assert [s.value.owner for s in await jobs.due(NOW + timedelta(seconds=61))] == ["one" if one else "two"]


async def test_finish_with_a_lost_lease_is_refused(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW))
    (stored,) = await jobs.due(NOW)
    etag = await jobs.take(stored, stored.value.leased("one", NOW, 60))
    (again,) = await jobs.due(NOW + timedelta(seconds=61))
    await jobs.take(again, again.value.leased("two", NOW + timedelta(seconds=61), 60))
    assert await jobs.finish(stored.value, etag) is False
    assert await jobs.get("j") is not None
