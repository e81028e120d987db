"""jobs: the parked jobs for leads, with Retry per job and Retry all."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..core.events import ActionResult, Card, Content, Scope, Text
from ..core.routing import ActionRequest, ActionRouter, CommandRequest, CommandRouter, card_field
from ..core.verbs import Verb
from ..core.views import JobsView
from ..domain.errors import DomainError
from ..domain.jobs import subject
from ..domain.policy import Action, Facts, may, refusal
from ..services.jobs import JobRunner
from ..services.ports import MemberRepository

LEADS_ONLY = refusal(Action.RETRY_JOBS)


def _time(data: dict, name: str) -> datetime:
    try:
        return datetime.fromisoformat(card_field(data, name))
    except ValueError:
        raise DomainError("This card is out of date. Write **jobs** for a fresh one.") from None


class ParkedJobs:
    """The parked-jobs card and its Retry buttons, for active leads."""

    def __init__(self, jobs: JobRunner, members: MemberRepository, tz: ZoneInfo) -> None:
        self._jobs = jobs
        self._members = members
        self._tz = tz

    async def _lead(self, aad_object_id: str) -> bool:
        """The permission policy's answer for seeing and retrying parked jobs, from the stored roster row."""
        stored = await self._members.get(aad_object_id)
        return may(aad_object_id, Action.RETRY_JOBS, Facts({aad_object_id: stored.value} if stored else {})).allowed

    async def _card(self, now: datetime, notice: str = "") -> Card:
        return Card(JobsView(await self._jobs.parked(), self._tz, now, notice), summary="Parked jobs")

    async def jobs(self, request: CommandRequest) -> list[Content]:
        """List the parked jobs as a card."""
        if request.args.strip().lower() not in ("", "list"):
            return [Text("Write **jobs** to see the parked jobs.")]
        if not await self._lead(request.caller.aad_object_id):
            return [Text(LEADS_ONLY)]
        return [await self._card(request.now)]

    async def retry(self, request: ActionRequest) -> ActionResult:
        """Retry one parked job; a double click or a stale card retries it once."""
        if not await self._lead(request.caller.aad_object_id):
            return ActionResult(note=LEADS_ONLY)
        job_id, since = card_field(request.data, "job"), _time(request.data, "since")
        retried = await self._jobs.retry(job_id, since)
        notice = (f"🔁 Retrying {retried.kind} · {subject(retried)}." if retried
                  else "That job was retried already; below is the current list.")
        return ActionResult(card=await self._card(request.now, notice), note=notice, changed=True)

    async def retry_all(self, request: ActionRequest) -> ActionResult:
        """Retry every job that was parked when the card was drawn."""
        if not await self._lead(request.caller.aad_object_id):
            return ActionResult(note=LEADS_ONLY)
        retried = await self._jobs.retry_all(_time(request.data, "asof"))
        notice = (f"🔁 Retrying {len(retried)} job{'s' if len(retried) != 1 else ''}." if retried
                  else "Nothing to retry: those jobs were retried already.")
        return ActionResult(card=await self._card(request.now, notice), note=notice, changed=True)

    def register(self, commands: CommandRouter, actions: ActionRouter) -> None:
        """Register `jobs` (personal chat) and the card's buttons."""
        commands.add("jobs", self.jobs, summary="the parked jobs that gave up, to retry them (leads)",
                     scopes=frozenset({Scope.PERSONAL}))
        actions.add(Verb.JOB_RETRY, self.retry)
        actions.add(Verb.JOB_RETRY_ALL, self.retry_all)
