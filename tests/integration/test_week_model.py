"""A week, played at random against a simple model of the rules (Hypothesis stateful testing).

The real core (routing, desks, permission policy, duty rule, job runner) runs over Azurite with an injected
clock; only Teams is recorded (tests/support/week.py). The machine sends requests (some starting with command
words, in German and English), thread replies and mentions from support, the requester and bystanders, claims
and triage clicks by every kind of person, absences, day swaps, picks and confirms, and moves the clock across
Monday 17:00, Tuesday 12:00, Wednesday 09:00 and a DST change. After every step it checks:

- every request is acknowledged exactly once and paged to exactly today's duty (plus the gap rule);
- nobody absent or inactive is paged or escalated to, and nobody without the right changes anything;
- each escalation happens at most once, and never after a support response;
- the who card, the handover and the paging name the same people on duty.

`make test` runs a few examples; `python -m bench.week_soak` runs many and prints how many steps it ran.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from bot.domain.members import Member
from bot.domain.planning import Absence
from bot.domain.rotation import RotationWeek
from bot.domain.text import format_day
from bot.services.direct_pages import WINDOW_SECONDS as PAGE_WINDOW
from tests.support.cards import find_action
from tests.support.week import BACKEND, WeekHarness, member

BERLIN = ZoneInfo("Europe/Berlin")

DORA = member("dora", "Dora Dev", production=True)
PAULA = member("paula", "Paula Pair")
FRITZ = member("fritz", "Fritz Fallback", production=True)
LARS = member("lars", "Lars Lead", production=True, lead=True)
LEO = member("leo", "Leo Left", production=True, lead=True, active=False)
MIA = member("mia", "Mia Member", production=True)
NICO = member("nico", "Nico New", observer_done=False)
ROSTER = [DORA, PAULA, FRITZ, LARS, LEO, MIA, NICO]
OLGA = member("olga", "Olga Ops")  # not on the roster: a requester
BEN = member("ben", "Ben Backend")  # not on the roster: a bystander
EVERYONE = ROSTER + [OLGA, BEN]
BY_ID = {m.aad_object_id: m for m in ROSTER}

REQUESTS = [
    "The tour export for Hamburg fails with a 500, drivers are waiting",
    "pick up address is wrong for tour 4711",
    "next tour cannot be started, app says tour locked",
    "alerts are not sent to the drivers since 16:00",
    "sync with the warehouse failed again",
    "Hilfe, die Fahrer-App stürzt beim Login ab",
    "wer hat die Tour 12 gelöscht? Kunde wartet",
    "Nächste Tour lässt sich nicht starten",
    "help, invoices are missing for November",
    "Rechnung für Kunde 99 ist doppelt",
]
REPLIES = ["any news?", "I'm on it", "gibt es was Neues?", "restart the export, that fixed it last time", "schaue ich mir an"]
# Monday before 17:00 (the DST change in October follows on Sunday), a Friday evening before the March change,
# a Tuesday before noon, and a Wednesday before the 09:00 handover.
STARTS = [datetime(2026, 10, 19, 16, 40, tzinfo=BERLIN), datetime(2027, 3, 26, 17, 50, tzinfo=BERLIN),
          datetime(2026, 12, 1, 11, 30, tzinfo=BERLIN), datetime(2026, 12, 2, 8, 50, tzinfo=BERLIN)]
STEPS = [60, 4 * 60, 6 * 60, 11 * 60, 3600, 4 * 3600, 17 * 3600, 24 * 3600, 3 * 24 * 3600]


@dataclass
class RequestModel:
    """What the model knows of one request."""

    id: str
    requester: str
    opened: datetime
    claimed_by: str = ""
    resolved: bool = False
    responded_at: datetime | None = None
    thanked: set[str] = field(default_factory=set)
    text: str = ""
    incident: str = ""  # the root's id when grouped
    paging: set[str] = field(default_factory=set)  # who must get a 1:1 page about it (gathered per window)


def pages(sent) -> list[tuple[str, list[str]]]:
    """(person, the requests it links) for every 1:1 page sent."""
    return [(s.conversation.split("|", 1)[1], re.findall(r"\(https://teams\.example/l/[^/]+/([^)\s]+)\)", s.text))
            for s in sent if s.kind == "direct" and re.match(r"(New #backend request|\d+ new #backend requests)", s.text)]


def present(person: str, day: date, absent: dict[date, set[str]]) -> bool:
    m = BY_ID.get(person)
    return bool(m and m.active and person not in absent.get(day, set()) and day.weekday() in m.working_weekdays)


def model_duty(week: RotationWeek | None, day: date, working: bool, absent: dict[date, set[str]]) -> tuple[list[str], list[str]]:
    """The simple model of who is on duty on a day, and whom a gap adds; the leads when there is no team."""
    leads = [m.aad_object_id for m in ROSTER if m.is_lead and present(m.aad_object_id, day, absent)]
    if week is None:
        return [], leads if working else [m.aad_object_id for m in ROSTER if m.is_lead and m.active
                                          and m.aad_object_id not in absent.get(day, set())]
    if not working:
        return [p for p in week.pair if BY_ID[p].active and p not in absent.get(day, set())], []
    covered = {c.replaces: c.person for c in week.covers if c.day == day}
    on = [p for p in week.pair if p not in covered and present(p, day, absent)]
    if week.fallback and day.weekday() in week.fallback_days and week.fallback not in covered and present(week.fallback, day, absent):
        on.append(week.fallback)
    on += [p for p in covered.values() if p not in on and present(p, day, absent)]
    short = lambda people: len(people) < 2 or not any(BY_ID[p].production_access for p in people)  # noqa: E731
    extra = []
    if short(on) and week.fallback and week.fallback not in on and present(week.fallback, day, absent):
        extra.append(week.fallback)
    if short(on + extra):
        extra += [p for p in leads if p not in on and p not in extra]
    return on, extra


class Week(RuleBasedStateMachine):
    """The team's week, step by step."""

    connection_string = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.bot: WeekHarness | None = None
        self.requests: dict[str, RequestModel] = {}
        self.absent: dict[date, set[str]] = {}
        self.seen = 0  # how much of the bot's output was checked already
        self.steps = 0
        self.checked: dict[str, int] = {}  # what the checks saw, for the soak's report

    def run(self, work):
        return self.loop.run_until_complete(work)

    def saw(self, what: str) -> None:
        self.checked[what] = self.checked.get(what, 0) + 1

    def teardown(self) -> None:
        if self.bot is not None:
            self.run(self.bot.close())
        self.loop.close()

    # ------------------------------------------------------------------ helpers

    @property
    def sent(self):
        return self.bot.messenger.sent

    def day(self) -> date:
        return self.bot.today()

    def working(self) -> bool:
        return self.bot.catalogue.calendar.is_working_day(self.day())

    async def week(self) -> RotationWeek | None:
        policy = self.bot.services.policy
        stored = await self.bot.services.weeks.get(policy.at(self.bot.clock(), BERLIN).start)
        return stored.value if stored else None

    def is_support(self, person: str, request: RequestModel | None, week: RotationWeek | None) -> bool:
        m = BY_ID.get(person)
        if m is None or not m.active:
            return False
        if m.is_lead:
            return True
        if week is not None and (person in week.pair or person == week.fallback):
            return True
        return request is not None and request.claimed_by == person and not request.resolved

    def thread(self, request: RequestModel) -> str:
        return f"{BACKEND};messageid={request.id}"

    def latest_card(self, request: RequestModel) -> tuple[dict, str]:
        for s in reversed(self.sent):
            if s.conversation == self.thread(request) and type(s.reply).__name__ == "Card":
                return s.card, s.id
        raise AssertionError(f"no card for {request.id}")

    async def stored(self, request: RequestModel):
        return (await self.bot.services.requests.get(request.id)).value

    # ------------------------------------------------------------------ the week begins

    @initialize(start=st.sampled_from(STARTS))
    def begin(self, start: datetime) -> None:
        self.bot = WeekHarness(self.connection_string, "wk" + uuid.uuid4().hex[:10], start.astimezone(BERLIN))
        current = self.bot.services.policy.at(start, BERLIN)
        week = RotationWeek(current.start, ("dora", "paula"), fallback="fritz", fallback_days=frozenset({4}), observer="nico")
        self.run(self.bot.open(ROSTER, [week]))
        # Lars chose #backend for the pick and the handover, as a team would on its first day.
        self.run(self.bot.mention(LARS, "rotation here"))

    # ------------------------------------------------------------------ rules

    @rule(requester=st.sampled_from(["olga", "ben", "mia"]), text=st.sampled_from(REQUESTS))
    def request(self, requester: str, text: str) -> None:
        who = next(m for m in EVERYONE if m.aad_object_id == requester)
        now = self.bot.clock()
        # The model of incidents: the same words as an open request of the last 4 hours (not itself grouped).
        root = next((r for r in sorted(self.requests.values(), key=lambda r: r.opened) if r.text == text
                     and not r.incident and not r.resolved and now - r.opened <= timedelta(hours=4)), None)
        before = len(self.sent)
        message = self.run(self.bot.mention(who, text))
        thread = f"{BACKEND};messageid={message.id}"
        request = RequestModel(message.id, requester, now, text=text, incident=root.id if root else "")
        self.requests[message.id] = request
        week = self.run(self.week())
        on, extra = model_duty(week, self.day(), self.working(), self.absent)
        new = [s for s in self.sent[before:] if s.conversation == thread]
        acks = [s for s in new if s.text.startswith("Thanks <at>")]
        assert len(acks) == 1, [s.text for s in new]
        # Before anyone responds: the acknowledgement (which pages) and the card; only the acknowledgement when grouped.
        assert len(new) == (1 if root else 2), [s.text or "card" for s in new]
        directs = {person for person, ids in pages(self.sent[before:]) if message.id in ids}
        if root:
            assert acks[0].mentioned == {f"29:{requester}"} and "same problem as" in acks[0].text, acks[0].text
            assert directs == set() and not any(s.kind == "post" and s.text for s in self.sent[before:] if s.conversation != thread)
            self.saw("requests grouped into an incident")
            return
        observer = {week.observer} if week and week.observer and present(week.observer, self.day(), self.absent) and self.working() else set()
        if week and not self.working() and week.observer and BY_ID[week.observer].active and week.observer not in self.absent.get(self.day(), set()):
            observer = {week.observer}
        assert acks[0].mentioned == {f"29:{requester}"} | set(on) | set(extra) | observer, (acks[0].text, on, extra, self.day())
        self.saw("requests paged" + (" with a gap" if extra else ""))
        # Its 1:1 pages go out now, or with the next window's when this window's went out already.
        request.paging = set(on) | set(extra)
        assert directs <= request.paging, (directs, on, extra)

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), person=st.sampled_from(EVERYONE), mentioned=st.booleans(), text=st.sampled_from(REPLIES))
    def reply_in_thread(self, data, person: Member, mentioned: bool, text: str) -> None:
        request = self.requests[data.draw(st.sampled_from(sorted(self.requests)))]
        week = self.run(self.week())
        support = self.is_support(person.aad_object_id, request, week)
        before_revision = self.run(self.stored(request)).revision
        before = len(self.sent)
        self.run(self.bot.mention(person, text, thread=request.id, mentioned=mentioned))
        new = self.sent[before:]
        assert not any(s.text.startswith("Thanks <at>") for s in new), "a reply in a thread opened a second request"
        assert not any("new request is waiting" in s.text for s in new), "a reply in a thread paged again"
        stored = self.run(self.stored(request))
        if support:
            request.responded_at = request.responded_at or self.bot.clock()
            assert stored.first_response_at is not None
            assert not [s for s in new if s.kind == "reply"], "support's reply got an answer"
        else:
            assert stored.revision == before_revision, "a follow-up changed what the card shows"
            replies = [s for s in new if s.kind == "reply"]
            assert len(replies) == (1 if mentioned else 0)
            if mentioned:
                assert f"This is {next(m for m in EVERYONE if m.aad_object_id == request.requester).display_name}'s request" in replies[0].text
            outsider = person.aad_object_id != request.requester
            thanks = [s for s in new if s.kind == "direct" and "help the pair answer" in s.text]
            expected = outsider and request.responded_at is None and person.aad_object_id not in request.thanked
            assert len(thanks) == (1 if expected else 0), (person.display_name, [s.text for s in new])
            if expected:
                request.thanked.add(person.aad_object_id)

    @precondition(lambda self: any(not r.incident for r in self.requests.values()))
    @rule(data=st.data(), person=st.sampled_from(EVERYONE), triage=st.booleans())
    def click(self, data, person: Member, triage: bool) -> None:
        # Requests grouped into an incident have no card of their own: support acts on the incident's root.
        request = self.requests[data.draw(st.sampled_from(sorted(k for k, r in self.requests.items() if not r.incident)))]
        week = self.run(self.week())
        allowed = self.is_support(person.aad_object_id, request, week)
        before = self.run(self.stored(request))
        payload = {"verb": "request.triage", "request": request.id, "outcome": "question", "question_answer": "Restart it."} \
            if triage else {"verb": "request.claim", "request": request.id}
        _, card_id = self.latest_card(request)
        result = self.run(self.bot.click(person, payload, card_id, self.thread(request)))
        after = self.run(self.stored(request))
        self.saw("clicks allowed" if allowed else "clicks refused")
        if not allowed:
            assert after == before, f"{person.display_name} changed a request without the right"
            assert result.note and "Only" in result.note
            return
        if triage and before.outcome is None:
            assert after.outcome is not None
            request.resolved = True
        if not triage and before.claimed_by is None:
            assert after.claimed_by.aad_object_id == person.aad_object_id
            request.claimed_by = person.aad_object_id
        if after.first_response_at is not None:
            request.responded_at = request.responded_at or after.first_response_at

    @rule(person=st.sampled_from(ROSTER + [OLGA]), tomorrow=st.booleans())
    def away(self, person: Member, tomorrow: bool) -> None:
        answer = self.run(self.bot.personal(person, "away tomorrow" if tomorrow else "away today"))
        day = self.day() + timedelta(days=1 if tomorrow else 0)
        if person.active and person.aad_object_id in BY_ID:
            assert any("Noted: you're away" in s.text for s in answer), [s.text for s in answer]
            self.absent.setdefault(day, set()).add(person.aad_object_id)
        else:
            assert not any("Noted" in s.text for s in answer)
            stored = self.run(self.bot.services.absences.of(person.aad_object_id))
            assert all(a.first != day for a in stored)

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: int) -> None:
        before = len(self.sent)
        self.run(self.bot.advance(seconds))
        for sent in self.sent[before:]:
            local = sent.at.astimezone(BERLIN).date()
            if sent.text.startswith(("⏰", "🚨")):
                self.saw("escalations")
                for person in sent.mentioned:
                    assert BY_ID[person].active and person not in self.absent.get(local, set()), (sent.text, person)
            if sent.text.startswith("Handover for"):
                week = self.run(self.week())
                on, _ = model_duty(week, local, self.bot.catalogue.calendar.is_working_day(local), self.absent)
                line = next((l for l in sent.text.split("\n\n") if l.startswith("Today (")), "")
                if line:
                    self.saw("handovers")
                    names = {BY_ID[p].display_name for p in on}
                    listed = line.split("): ", 1)[1].split(" on duty", 1)[0]
                    assert {n for n in re.split(r", | and ", listed) if n and n != "nobody"} == names, (line, names)

    @rule(person=st.sampled_from(ROSTER + [OLGA]))
    def who(self, person: Member) -> None:
        answer = self.run(self.bot.personal(person, "who"))
        card = next(s.card for s in answer if type(s.reply).__name__ == "Card")
        week = self.run(self.week())
        on, _ = model_duty(week, self.day(), self.working(), self.absent)
        today = [b["text"] for b in card["body"] if isinstance(b, dict) and str(b.get("text", "")).startswith("Today (")]
        if week is None:
            assert not today
            return
        self.saw("who cards")
        names = {BY_ID[p].display_name for p in on}
        listed = today[0].split("): ", 1)[1].split(" on duty", 1)[0]
        assert {n for n in re.split(r", | and ", listed) if n and n != "nobody"} == names, (today[0], names, self.day())
        assert today[0].startswith(f"Today ({format_day(self.day())})")

    @rule(person=st.sampled_from(ROSTER + [OLGA]))
    def pick(self, person: Member) -> None:
        before = len(self.sent)
        self.run(self.bot.mention(person, "pick"))
        new = self.sent[before:]
        posted = [s for s in new if type(s.reply).__name__ == "Card"]
        if person.active and person.aad_object_id in BY_ID:
            assert posted, [s.text for s in new]
        else:
            assert not posted and any("Only people on the team's roster" in s.text for s in new)

    @rule(person=st.sampled_from(ROSTER + [OLGA]))
    def confirm(self, person: Member) -> None:
        cards = [s for s in self.sent if type(s.reply).__name__ == "Card" and "Support pair for the next iteration" in str(s.card)]
        if not cards:
            return
        latest = cards[-1]
        try:
            data = find_action(latest.card, "plan.confirm")["data"]
        except AssertionError:
            return  # confirmed already, or no valid team
        week = self.run(self.week())
        allowed = person.active and (person.is_lead or (week is not None and person.aad_object_id in week.pair)) \
            and person.aad_object_id in BY_ID
        start = date.fromisoformat(data["start"])
        proposals = self.bot.core.rotation._proposals
        before = self.run(proposals.get(start)).value
        result = self.run(self.bot.click(person, data, latest.id, latest.conversation))
        after = self.run(proposals.get(start)).value
        if not allowed:
            assert after == before and "Only the current support pair or a lead" in (result.note or "")

    @precondition(lambda self: True)
    @rule(giver=st.sampled_from([DORA, PAULA]), taker=st.sampled_from([MIA, LARS, NICO]), accepter=st.sampled_from(ROSTER + [OLGA]))
    def day_swap(self, giver: Member, taker: Member, accepter: Member) -> None:
        answer = self.run(self.bot.personal(giver, f"swap day tomorrow with {taker.display_name.split()[0]}"))
        offers = [s for s in self.sent if s.kind == "direct" and type(s.reply).__name__ == "Card"
                  and s.conversation == f"1:1|{taker.aad_object_id}"]
        if not any("I asked" in s.text for s in answer) or not offers:
            return
        card = offers[-1]
        data = find_action(card.card, "swap.accept")["data"]
        assert set(data) == {"verb", "swap", "rev"}
        before = self.run(self.week())
        result = self.run(self.bot.click(accepter, data, card.id, card.conversation))
        after = self.run(self.week())
        if accepter.aad_object_id != taker.aad_object_id:
            assert after == before and "for someone else" in (result.note or "")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def acknowledged_once_and_escalated_at_most_once_never_after_a_response(self) -> None:
        if self.bot is None:
            return
        self.steps += 1
        covered: dict[tuple[str, str], list] = {}
        for sent in self.sent:
            for mark in ("⏰", "🚨"):
                if not sent.text.startswith(mark) or "iteration" in sent.text:
                    continue  # the weekly cycle's reminders are not a request's escalation
                if sent.conversation == BACKEND:  # a digest: the requests it lists, by their links
                    ids = re.findall(r"/l/[^/]+/(\d+)\)", sent.text)
                    assert len(ids) >= 2, sent.text
                else:
                    ids = [sent.conversation.partition(";messageid=")[2]]
                for request_id in ids:
                    covered.setdefault((request_id, mark), []).append(sent)
        for request in self.requests.values():
            texts = [s for s in self.sent if s.conversation == self.thread(request)]
            assert sum(s.text.startswith("Thanks <at>") for s in texts) == 1
            for mark in ("⏰", "🚨"):
                escalations = covered.get((request.id, mark), [])
                assert len(escalations) <= 1, [s.text for s in escalations]
                assert not (escalations and request.incident), "a request grouped into an incident was escalated"
                if escalations and request.responded_at is not None:
                    assert escalations[0].at <= request.responded_at, "escalated after a support response"

    @invariant()
    def everyone_paged_gets_each_request_once_within_two_windows(self) -> None:
        if self.bot is None:
            return
        got: dict[str, list[str]] = {}
        for person, ids in pages(self.sent):
            for request_id in ids:
                got.setdefault(request_id, []).append(person)
        for request in self.requests.values():
            people = got.get(request.id, [])
            assert len(people) == len(set(people)) and set(people) <= request.paging, (people, request.paging)
            waited = self.bot.clock() - request.opened >= timedelta(seconds=2 * PAGE_WINDOW)
            if waited:
                assert set(people) == request.paging, (people, request.paging)

    @invariant()
    def nobody_absent_or_inactive_is_paged(self) -> None:
        if self.bot is None:
            return
        for sent in self.sent[self.seen:]:
            if "new request is waiting" in sent.text or "paging the leads" in sent.text:
                local = sent.at.astimezone(BERLIN).date()
                for person in sent.mentioned:
                    assert BY_ID[person].active and person not in self.absent.get(local, set()), (sent.text, person)
        self.seen = len(self.sent)


def test_a_week_against_the_model(azurite):
    """A few random weeks; `python -m bench.week_soak` runs many more."""
    Week.connection_string = azurite.connection_string
    examples = int(os.environ.get("WEEK_MODEL_EXAMPLES", "6"))
    run_state_machine_as_test(Week, settings=settings(
        max_examples=examples, stateful_step_count=int(os.environ.get("WEEK_MODEL_STEPS", "20")), deadline=None,
        suppress_health_check=list(HealthCheck), derandomize=os.environ.get("WEEK_MODEL_RANDOM") != "1",
    ))
