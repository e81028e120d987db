"""The parked-jobs card: what gave up, why and since when, with Retry per job and Retry all (for leads)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.jobs import Job

from .common import card, execute, facts, heading, text
from .verbs import Verb

SHOWN = 20
SUBJECT_CHARS = 120


def _short(value: str, limit: int = SUBJECT_CHARS) -> str:
    line = " ".join(str(value).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def subject(job: Job) -> str:
    """What a job was about, in a few words, from its payload."""
    p = job.payload
    if isinstance(p.get("alert"), dict):
        a = p["alert"]
        title = a.get("exception_class") or a.get("trigger_message") or a.get("trigger_type") or "alert"
        detail = a.get("message") or a.get("context") or ""
        return _short(f"Bugsnag {title}" + (f": {detail}" if detail else ""))
    if isinstance(p.get("opening"), dict):
        return _short(f"request: {p['opening'].get('text', '')}")
    if isinstance(p.get("person"), list) and len(p["person"]) > 1:
        return _short(f"1:1 message to {p['person'][1]}")
    if "request" in p:
        level = f", escalation {p['level']}" if "level" in p else ""
        return _short(f"request {p['request']}{level}")
    if "key" in p:
        return _short(f"alert {p['key']}" + (f", escalation {p['level']}" if "level" in p else ""))
    if "start" in p:
        return f"the iteration starting {p['start']}"
    return _short(job.id)


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
