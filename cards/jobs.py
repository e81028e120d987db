"""The parked-jobs card: what gave up, why and since when, with Retry per job and Retry all (for leads)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.jobs import Job, subject

from .common import card, execute, facts, heading, text
from bot.core.verbs import Verb

SHOWN = 20


def _when(value: datetime | None, tz: ZoneInfo, now: datetime) -> str:
    if value is None:
        return "—"
    local = value.astimezone(tz)
    return f"{local:%H:%M}" if local.date() == now.astimezone(tz).date() else f"{local:%a %d %b %H:%M}"


def _job(job: Job, tz: ZoneInfo, now: datetime) -> dict:
    return {
        "type": "Container",
        "separator": True,
        "items": [
            text(f"**{job.kind}** · {subject(job)}"),
            facts([
                ("Parked since", _when(job.parked_at, tz, now)),
                ("Attempts", f"{job.attempts}, the first at {_when(job.first_attempt, tz, now)}"),
                ("Last error", job.last_error or "—"),
            ]),
            {"type": "ActionSet", "actions": [
                execute("Retry", Verb.JOB_RETRY, {"job": job.id, "since": job.parked_at.isoformat() if job.parked_at else ""}),
            ]},
        ],
    }


def parked_jobs_card(jobs: list[Job], tz: ZoneInfo, now: datetime, notice: str = "") -> dict:
    """The parked jobs, most recent first; `notice` says what a click just did."""
    body = [heading("Parked jobs")]
    if notice:
        body.append(text(notice, weight="Bolder"))
    if not jobs:
        body.append(text("No parked jobs. Everything that failed either recovered or is still being retried."))
        return card(body)
    count = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}"
    body.append(text(f"{count} gave up and will not run again on their own. **Retry** runs a job again from the "
                     "start, with a fresh attempt count.", isSubtle=True))
    body.extend(_job(job, tz, now) for job in jobs[:SHOWN])
    if len(jobs) > SHOWN:
        body.append(text(f"…and {len(jobs) - SHOWN} more. **Retry all** includes them.", isSubtle=True))
    return card(body, [execute("Retry all", Verb.JOB_RETRY_ALL, {"asof": now.isoformat()})])
