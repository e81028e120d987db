"""python -m bot jobs list / retry against Azurite: operators see and retry parked jobs without chat."""

from datetime import datetime, timedelta, timezone

from bot.domain.jobs import Job
from bot.domain.versioned import Stored
from bot.storage.jobs import TableJobRepository
from tests.integration.test_roster_cli import run



def now() -> datetime:
    return datetime.now(timezone.utc)


async def park(store, job_id: str, error: str) -> None:
    jobs, at = TableJobRepository(store), now()
    await jobs.add(Job(job_id, "alert.deliver", at))
    (stored,) = [s for s in await jobs.due(at) if s.value.id == job_id]
    leased = stored.value.leased("x", at, 15)
    etag = await jobs.move(stored, leased)
    await jobs.move(Stored(leased, etag), leased.park(at, error))


async def test_list_and_retry_one_and_all(store, storage_env):
    await park(store, "alert|1", "posting: Teams refused it (403)")
    await park(store, "alert|2", "gave up after 40 attempts in 6 h: Jira 503")
    listed = run(["jobs", "list"], storage_env)
    assert listed.returncode == 0, listed.stderr
    assert "alert|1\talert.deliver\tparked" in listed.stdout and "Teams refused it (403)" in listed.stdout
    assert "2 parked jobs" in listed.stderr
    assert run(["jobs", "retry", "alert|1"], storage_env).returncode == 0
    again = run(["jobs", "retry", "alert|1"], storage_env)
    assert again.returncode == 1 and "no parked job 'alert|1'" in again.stderr
    assert "retried 1 parked job;" in run(["jobs", "retry", "--all"], storage_env).stdout
    assert [s.value.attempts for s in await TableJobRepository(store).due(now())] == [0, 0]
    assert run(["jobs", "retry"], storage_env).returncode == 2  # an id or --all
