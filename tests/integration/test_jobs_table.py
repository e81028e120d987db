"""The job queue in Azurite: time-ordered rows, one move wins, due-polling reads only due rows."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.jobs import TOMBSTONE, Job
from bot.domain.versioned import Stored
from bot.storage.jobs import OLD_PARTITION, TableJobRepository, row_key, stamp
from bot.storage.tables import key
from tests.support.tablecalls import counting_store

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


@pytest.fixture
async def counted(storage_env):
    """A store whose round trips and rows read are counted, with the tables created."""
    store, calls = counting_store(storage_env["TABLES_CONNECTION_STRING"], storage_env["TABLE_PREFIX"])
    await store.ensure_tables()
    calls.reset()
    yield store, calls
    await store.close()


def test_due_keys_sort_in_time_order():
    early, late = Job("z", "k", NOW), Job("a", "k", NOW + timedelta(microseconds=1))
    assert row_key(early) < row_key(late)
    assert stamp(NOW + timedelta(days=400)) > stamp(NOW + timedelta(hours=23))
    assert row_key(Job("page|19:x@thread;messageid=1", "k", NOW)).count("|") == 2  # the id's own | is escaped


async def test_enqueue_is_idempotent_and_due_respects_time(store):
    jobs = TableJobRepository(store)
    assert await jobs.add(Job("a", "k", NOW, {"x": "ä"})) is not None
    assert await jobs.add(Job("a", "k", NOW)) is None
    await jobs.add(Job("later", "k", NOW + timedelta(minutes=5)))
    due = await jobs.due(NOW)
    assert [s.value.id for s in due] == ["a"] and due[0].value.payload == {"x": "ä"}
    assert (await jobs.get("later")).value.due == NOW + timedelta(minutes=5)
    assert await jobs.get("nothing") is None


async def test_two_instances_taking_the_same_job_one_wins(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW))
    (seen_by_one,) = await jobs.due(NOW)
    (seen_by_two,) = await jobs.due(NOW)
    one = await jobs.move(seen_by_one, seen_by_one.value.leased("one", NOW, 15))
    two = await jobs.move(seen_by_two, seen_by_two.value.leased("two", NOW, 15))
    assert (one is None) != (two is None)
    assert await jobs.due(NOW) == []  # leased: its row moved to when the lease runs out
    assert [s.value.owner for s in await jobs.due(NOW + timedelta(seconds=15))] == ["one" if one else "two"]


async def test_the_same_move_from_two_stale_copies_is_refused_even_with_the_same_target(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW))
    (seen,) = await jobs.due(NOW)
    target = seen.value.leased("one", NOW, 15)
    assert await jobs.move(seen, target) is not None
    assert await jobs.move(seen, target) is None


async def test_finish_with_a_lost_lease_is_refused(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW))
    (stored,) = await jobs.due(NOW)
    mine = stored.value.leased("one", NOW, 15)
    etag = await jobs.move(stored, mine)
    (again,) = await jobs.due(NOW + timedelta(seconds=16))
    await jobs.move(again, again.value.leased("two", NOW + timedelta(seconds=16), 15))
    assert await jobs.finish(Stored(mine, etag)) is False
    assert (await jobs.get("j")).value.owner == "two"


async def test_finish_removes_the_job_and_frees_its_id(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW))
    (stored,) = await jobs.due(NOW)
    assert await jobs.finish(stored) is True
    assert await jobs.get("j") is None
    assert await jobs.add(Job("j", "k", NOW)) is not None


async def test_parked_jobs_leave_the_due_range_and_keep_their_story(store):
    jobs = TableJobRepository(store)
    await jobs.add(Job("j", "k", NOW, {"request": "r1"}))
    (stored,) = await jobs.due(NOW)
    leased = stored.value.leased("one", NOW, 15)
    etag = await jobs.move(stored, leased)
    assert await jobs.move(Stored(leased, etag), leased.park(NOW + timedelta(seconds=3), "Teams refused it (403)"))
    assert await jobs.due(NOW + timedelta(days=30)) == []
    assert await jobs.add(Job("j", "k", NOW)) is None  # a parked id stays taken
    (parked,) = await jobs.parked()
    assert parked.value.parked_at == NOW + timedelta(seconds=3) and parked.value.last_error == "Teams refused it (403)"
    assert (parked.value.attempts, parked.value.first_attempt, parked.value.payload) == (1, NOW, {"request": "r1"})
    assert await jobs.count_parked() == 1
    revived = parked.value.revived(NOW + timedelta(minutes=1))
    assert await jobs.move(parked, revived) is not None
    assert await jobs.move(parked, revived) is None  # a double click revives once
    assert [s.value.attempts for s in await jobs.due(NOW + timedelta(minutes=1))] == [0]
    assert await jobs.count_parked() == 0


async def test_enqueue_is_one_round_trip_and_polling_reads_only_due_rows(counted):
    store, calls = counted
    jobs = TableJobRepository(store)
    await jobs.add(Job("first", "k", NOW))
    assert calls.round_trips == 1  # marker and row in one batch: the acknowledgement waits for one write
    for n in range(300):
        await jobs.add(Job(f"future{n}", "k", NOW + timedelta(minutes=1 + n)))
    for n in range(40):
        await jobs.add(Job(f"lease{n}", "k", NOW))
    for stored in await jobs.due(NOW, limit=100):
        if stored.value.id.startswith("lease"):
            await jobs.move(stored, stored.value.leased("other", NOW, 15))
    for n in range(3):
        await jobs.add(Job(f"due{n}", "k", NOW - timedelta(seconds=n)))
    calls.reset()
    due = await jobs.due(NOW)
    assert sorted(s.value.id for s in due) == ["due0", "due1", "due2", "first"]
    assert (calls.round_trips, calls.rows_read) == (1, 4)
    calls.reset()
    assert len(await jobs.due(NOW, limit=2)) == 2
    assert (calls.round_trips, calls.rows_read) == (1, 2)  # the limit is the page size: no more is read


async def test_jobs_of_the_first_layout_are_moved_over_with_their_tombstones(store):
    old = store.table("Jobs")
    for job_id, kind, due in (("page|m1", TOMBSTONE, NOW + timedelta(hours=1)), ("escalate|r1|1", "request.escalate", NOW)):
        await old.create_entity({"PartitionKey": OLD_PARTITION, "RowKey": key(job_id), "Kind": kind, "Due": due.isoformat(),
                                 "Payload": json.dumps({"request": "r1"}), "Attempts": 0, "LeaseUntil": "", "Owner": "",
                                 "RememberSeconds": 0})
    jobs = TableJobRepository(store)
    assert await jobs.migrate() == 2
    assert await jobs.migrate() == 0
    assert await jobs.add(Job("page|m1", "request.page", NOW)) is None  # the redelivery is still a duplicate
    assert [(s.value.id, s.value.payload) for s in await jobs.due(NOW)] == [("escalate|r1|1", {"request": "r1"})]
