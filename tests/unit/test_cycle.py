"""The weekly cycle's schedule with an injected clock: on time, and missed jobs only while still useful."""

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.iteration import IterationPolicy
from bot.services.rotation import due_cycle_jobs

BERLIN = ZoneInfo("Europe/Berlin")
POLICY = IterationPolicy()


def ids(now: datetime) -> dict[str, datetime]:
    return {job.id: job.due for job in due_cycle_jobs(now, POLICY, BERLIN)}


def test_monday_afternoon_schedules_the_coming_pick_remind_and_handover():
    jobs = ids(datetime(2026, 11, 30, 15, 0, tzinfo=BERLIN))
    assert jobs["cycle|pick|2026-12-02"] == datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN)
    assert jobs["cycle|remind|2026-12-02"] == datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)
    assert jobs["cycle|handover|2026-12-02"] == datetime(2026, 12, 2, 9, 0, tzinfo=BERLIN)
    assert not any(key.endswith("2026-11-25") and "pick" in key for key in jobs)


def test_a_missed_monday_pick_still_runs_on_tuesday_morning():
    jobs = ids(datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN))
    assert jobs["cycle|pick|2026-12-02"] < datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN)  # due: runs at once


def test_a_missed_pick_is_dropped_once_the_iteration_started():
    jobs = ids(datetime(2026, 12, 2, 10, 0, tzinfo=BERLIN))
    assert "cycle|pick|2026-12-02" not in jobs and "cycle|remind|2026-12-02" not in jobs
    assert "cycle|handover|2026-12-02" in jobs  # the same day, a late handover is still useful
    assert "cycle|pick|2026-12-09" in jobs


def test_the_handover_is_not_sent_a_day_late():
    assert "cycle|handover|2026-12-02" not in ids(datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN))


def test_times_stay_local_across_the_dst_change():
    jobs = ids(datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN))  # clocks go forward on Sun 29 March
    assert jobs["cycle|pick|2026-04-01"].astimezone(BERLIN).hour == 17
    assert jobs["cycle|pick|2026-04-01"].utcoffset().total_seconds() == 7200
