"""jobs: the parked jobs for leads, with Retry per job and Retry all."""

from __future__ import annotations

from datetime import datetime

from cards.jobs import parked_jobs_card, subject
from cards.verbs import Verb

from ..domain.errors import DomainError
from ..domain.messages import Card, Reply, Text
from ..domain.policy import Action, Facts, may, refusal

LEADS_ONLY = refusal(Action.RETRY_JOBS)
from .actions import ActionRequest, ActionResult, actions, card_field
from .router import CommandRequest, Scope, router



async def is_active_lead(services, aad_object_id: str) -> bool:
    """The permission policy's answer for seeing and retrying parked jobs, from the stored roster row."""
    stored = await services.members.get(aad_object_id)
    facts = Facts({aad_object_id: stored.value} if stored else {})
    return may(aad_object_id, Action.RETRY_JOBS, facts).allowed


async def _card(services, now: datetime, notice: str = "") -> dict:
    return parked_jobs_card(await services.jobs.parked(), services.settings.tz, now, notice)


@router.command("jobs", summary="the parked jobs that gave up, to retry them (leads)", scopes=frozenset({Scope.PERSONAL}))
async def jobs(request: CommandRequest) -> list[Reply]:
    """List the parked jobs as a card."""
    if request.args.strip().lower() not in ("", "list"):
        return [Text("Write **jobs** to see the parked jobs.")]
    if not await is_active_lead(request.services, request.caller.aad_object_id):
        return [Text(LEADS_ONLY)]
    return [Card(await _card(request.services, request.now), summary="Parked jobs")]


def _time(data: dict, name: str) -> datetime:
    try:
        return datetime.fromisoformat(card_field(data, name))
    except ValueError:
        raise DomainError("This card is out of date. Write **jobs** for a fresh one.") from None


@actions.verb(Verb.JOB_RETRY)
async def retry(request: ActionRequest) -> ActionResult:
    """Retry one parked job; a double click or a stale card retries it once."""
    if not await is_active_lead(request.services, request.caller.aad_object_id):
        return ActionResult(note=LEADS_ONLY)
    job_id, since = card_field(request.data, "job"), _time(request.data, "since")
    retried = await request.services.jobs.retry(job_id, since)
    notice = (f"🔁 Retrying {retried.kind} · {subject(retried)}." if retried
              else "That job was retried already; below is the current list.")
    return ActionResult(card=await _card(request.services, request.now, notice), note=notice, update_in_place=True)


@actions.verb(Verb.JOB_RETRY_ALL)
async def retry_all(request: ActionRequest) -> ActionResult:
    """Retry every job that was parked when the card was drawn."""
    if not await is_active_lead(request.services, request.caller.aad_object_id):
        return ActionResult(note=LEADS_ONLY)
    retried = await request.services.jobs.retry_all(_time(request.data, "asof"))
    notice = (f"🔁 Retrying {len(retried)} job{'s' if len(retried) != 1 else ''}." if retried
              else "Nothing to retry: those jobs were retried already.")
    return ActionResult(card=await _card(request.services, request.now, notice), note=notice, update_in_place=True)
