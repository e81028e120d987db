"""What happens to a job after a failed attempt: jittered backoff, Retry-After as a floor, waiting, parking."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.errors import DeliveryFailed, StorageUnavailable
from bot.domain.jobs import Job, JobPolicy, RetryLater, one_line, span

NOW = datetime(2026, 12, 1, 16, tzinfo=timezone.utc)
POLICY = JobPolicy(give_up_seconds=6 * 3600)


def attempt(job: Job, now: datetime) -> Job:
    return job.leased("me", now, POLICY.lease_seconds)


@pytest.mark.parametrize("attempts, low, high", [(1, 1, 2), (2, 2, 4), (3, 4, 8), (9, 256, 512), (10, 300, 600), (40, 300, 600)])
def test_backoff_doubles_from_two_seconds_to_ten_minutes_with_equal_jitter(attempts, low, high):
    rng = random.Random(attempts)
    delays = [POLICY.delay(attempts, rng=rng) for _ in range(200)]
    assert low <= min(delays) and max(delays) <= high
    assert max(delays) - min(delays) > (high - low) / 2  # jittered, so instances do not retry in step


def test_retry_after_is_a_floor_not_a_ceiling():
    rng = random.Random(3)
    assert POLICY.delay(1, retry_after=30, rng=rng) == 30
    assert 256 <= POLICY.delay(9, retry_after=30, rng=rng) <= 512
    assert POLICY.delay(1, retry_after=7200, rng=rng) == 7200  # Jira asked for two hours: not sooner


def test_a_failure_reschedules_with_the_error_on_one_line():
    job = attempt(Job("j", "k", NOW), NOW)
    after = POLICY.after_failure(job, NOW, ValueError("tour\n id"), random.Random(1))
    assert not after.parked and after.owner == "" and NOW + timedelta(seconds=1) <= after.due <= NOW + timedelta(seconds=2)
    assert after.last_error == "ValueError: tour id" and after.attempts == 1 and after.first_attempt == NOW


def test_storage_outages_and_retry_later_are_retried():
    job = attempt(Job("j", "k", NOW), NOW)
    assert not POLICY.after_failure(job, NOW, StorageUnavailable("Table Storage did not answer")).parked
    assert POLICY.after_failure(job, NOW, RetryLater("Jira 503", 60)).due == NOW + timedelta(seconds=60)


def test_delivery_failed_parks_at_once():
    job = attempt(Job("j", "k", NOW), NOW)
    parked = POLICY.after_failure(job, NOW, DeliveryFailed("posting: Teams refused it (403)"))
    assert parked.parked and parked.parked_at == NOW and parked.last_error == "posting: Teams refused it (403)"


def test_a_job_failing_for_the_give_up_time_since_its_first_attempt_is_parked():
    clock, job, rng = NOW, Job("j", "k", NOW), random.Random(5)
    attempts = 0
    while True:
        job = attempt(job, clock)
        attempts += 1
        job = POLICY.after_failure(job, clock, RetryLater("Jira is down"), rng)
        if job.parked:
            break
        assert (clock - NOW).total_seconds() < 6 * 3600
        clock = job.due
    assert (clock - NOW).total_seconds() >= 6 * 3600 and job.attempts == attempts
    assert job.first_attempt == NOW and job.parked_at == clock
    assert job.last_error == f"gave up after {attempts} attempts in 6 h: Jira is down"
    assert 40 < attempts < 60  # about 36 capped waits of 5–10 min after the ramp-up


def test_waiting_for_people_neither_backs_off_nor_gives_up():
    job = Job("a", "alert.deliver", NOW)
    clock = NOW
    for _ in range(100):
        job = attempt(job, clock)
        job = POLICY.after_failure(job, clock, RetryLater("no alert channel yet", 5, waiting=True))
        assert not job.parked and job.due == clock + timedelta(seconds=5)
        clock += timedelta(hours=1)
    assert job.attempts == 0 and job.first_attempt is None


def test_a_revived_job_starts_over():
    parked = attempt(Job("j", "k", NOW, {"x": 1}), NOW).park(NOW, "refused")
    later = NOW + timedelta(days=1)
    revived = parked.revived(later)
    assert not revived.parked and revived.due == later and revived.attempts == 0 and revived.first_attempt is None
    assert revived.payload == {"x": 1} and revived.last_error == "refused"


def test_one_line_and_spans():
    assert one_line(DeliveryFailed("a\n  b")) == "a b"
    assert one_line(ValueError()) == "ValueError"
    assert len(one_line("x" * 1000)) == 300
    assert [span(s) for s in (45, 600, 21600, 5400)] == ["45 s", "10 min", "6 h", "90 min"]
