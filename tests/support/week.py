"""The real core (desks, policy, routing, job runner) over Azurite with an injected clock and a recording messenger.

Used by the model-based test of a week (tests/integration/test_week_model.py) and its long run (bench/week_soak.py):
everything but Teams itself is the production code; Teams is the Messenger port, recorded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable

from bot.bootstrap import build_core, build_services
from bot.config import load_settings
from bot.core.events import Card, CardAction, Direct, Message, Person, Post, Reply, Scope, Text, Update
from bot.domain.address import Address
from bot.domain.jobs import RetryLater
from bot.domain.members import Member, Role
from bot.domain.rotation import RotationWeek
from bot.services.catalogue import load_catalogue
from bot.web.references import address as teams_address
from cards.render import render

SERVICE = "https://smba.example/emea/"
TENANT = "t0"
BACKEND = "19:backend0channel0id@thread.tacv2"


def where(conversation_id: str) -> Address:
    """The address of a conversation (a thread's id carries ;messageid=<root>), as the Teams adapters make it."""
    return teams_address(SERVICE, conversation_id, TENANT, "channel" if conversation_id.startswith(BACKEND) else "personal")


@dataclass
class Sent:
    """One thing the bot sent: where, what, and the clock time."""

    conversation: str
    reply: Any
    at: datetime
    kind: str = "post"  # post, update, direct, reply
    id: str = ""

    @property
    def text(self) -> str:
        """The text of a message ('' for a card)."""
        return self.reply.text if isinstance(self.reply, Text) else ""

    @property
    def card(self) -> dict | None:
        """The card as Teams would show it (rendered from its view), or None for text."""
        return render(self.reply.view) if isinstance(self.reply, Card) else None

    @property
    def mentioned(self) -> set[str]:
        """The ids mentioned in a text message."""
        return {m.id for m in self.reply.mentions} if isinstance(self.reply, Text) else set()


@dataclass
class MutableClock:
    """The injected clock; tests move it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _conversation(address: Address) -> str:
    return address.place + (f";messageid={address.thread}" if address.thread else "")


@dataclass
class RecordingMessenger:
    """The Messenger port, recording: Teams is the one part that can't run here.

    `refuse` holds tests of effects (proactive ones, and a turn's replies) that Teams answers with a 429
    (RetryLater) once each, as a fault would.
    """

    clock: MutableClock
    sent: list[Sent] = field(default_factory=list)
    refuse: list[Callable[[Any], bool]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def link(self, address: Address, message_id: str) -> str:
        return f"https://teams.example/l/{address.place}/{message_id}"

    def refused(self, effect) -> None:
        """Raise RetryLater, as Teams' 429 does, for the first effect a rule of `refuse` names (once per rule)."""
        for rule in self.refuse:
            if rule(effect):
                self.refuse.remove(rule)
                raise RetryLater("Teams answered 429 TooManyRequests", 2)

    async def send(self, effect) -> str:
        self.refused(effect)
        if isinstance(effect, Post):
            new = f"m{next(self._ids)}"
            self.sent.append(Sent(_conversation(effect.to), effect.content, self.clock(), "post", new))
            return new
        if isinstance(effect, Update):
            self.sent.append(Sent(_conversation(effect.at), effect.card, self.clock(), "update", effect.card_id))
            return ""
        assert isinstance(effect, Direct)
        new = f"d{next(self._ids)}"
        self.sent.append(Sent(f"1:1|{effect.to.aad_object_id}", effect.content, self.clock(), "direct", new))
        return new


class _Turn:
    def __init__(self, harness: "WeekHarness", conversation: str) -> None:
        self._harness = harness
        self._conversation = conversation

    async def apply(self, effect) -> str:
        self._harness.messenger.refused(effect)
        kind = "reply" if isinstance(effect, Reply) else "update"
        content = effect.content if isinstance(effect, Reply) else effect.card
        self._harness.messenger.sent.append(Sent(self._conversation, content, self._harness.clock(), kind,
                                                 getattr(effect, "card_id", "")))
        return ""


class WeekHarness:
    """A team's bot with everything real but Teams, driven message by message."""

    def __init__(self, connection_string: str, prefix: str, start: datetime, tickets=None) -> None:
        self.clock = MutableClock(start)
        self.messenger = RecordingMessenger(self.clock)
        self.settings = load_settings({"ALLOW_UNAUTHENTICATED": "true", "TABLES_CONNECTION_STRING": connection_string,
                                       "TABLE_PREFIX": prefix, "LOG_LEVEL": "WARNING"})
        self.catalogue = load_catalogue("", self.settings.tz)
        self.services = build_services(self.settings, self.clock, self.catalogue)
        self.core = build_core(self.settings, self.services, self.catalogue, self.messenger, self.clock, tickets)
        self.app = self.core.app
        self._ids = itertools.count(1)

    @property
    def tz(self):
        """The team's time zone."""
        return self.settings.tz

    async def open(self, members: list[Member], weeks: list[RotationWeek]) -> None:
        """Create the tables and store the roster and weeks."""
        await self.services.store.ensure_tables()
        for member in members:
            await self.services.members.add(member)
        for week in weeks:
            await self.services.weeks.add(week)

    async def close(self) -> None:
        """Let running jobs finish, then close the clients."""
        await self.services.jobs.settle()
        await self.services.store.close()

    def _message_id(self) -> str:
        return str(1764000000000 + next(self._ids))

    async def mention(self, who: Member | Person, text: str, *, thread: str = "", mentioned: bool = True,
                      message_id: str = "") -> Message:
        """A message in #backend: a new thread, or a reply in `thread` (its root id)."""
        message_id = message_id or self._message_id()
        conversation = f"{BACKEND};messageid={thread or message_id}"
        message = Message(message_id, _person(who), Scope.CHANNEL, text, mentioned, where(conversation), self.clock())
        await self.app.handle(message, _Turn(self, conversation))
        await self.settle()
        return message

    async def personal(self, who: Member | Person, text: str) -> list[Sent]:
        """A message in personal chat; what the bot answered."""
        conversation = f"a:personal-{_person(who).aad_object_id}"
        before = len(self.messenger.sent)
        message = Message(self._message_id(), _person(who), Scope.PERSONAL, text, True, where(conversation), self.clock())
        await self.app.handle(message, _Turn(self, conversation))
        await self.settle()
        return self.messenger.sent[before:]

    async def click(self, who: Member | Person, data: dict, card_id: str, conversation: str):
        """A click on a card's button with the data the card carried; the core's Answer."""
        action = CardAction(_person(who), Scope.CHANNEL, dict(data), card_id, where(conversation), self.clock())
        answer = await self.app.handle(action, _Turn(self, conversation))
        await self.settle()
        return answer

    async def settle(self) -> None:
        """Run what is due now, and what that started, until nothing is left (bounded)."""
        jobs = self.services.jobs
        for _ in range(20):
            await jobs.settle()
            if not await jobs.run_due():
                await jobs.settle()
                return

    async def advance(self, seconds: float) -> None:
        """Move the clock, keep the weekly cycle scheduled, and run whatever came due on the way, in order."""
        target = self.clock.now + timedelta(seconds=seconds)
        # Step at most an hour at a time, so jobs run close to when they were due.
        while self.clock.now < target:
            self.clock.now = min(target, self.clock.now + timedelta(hours=1))
            await self.core.rotation.ensure_cycle()
            await self.settle()

    def today(self) -> date:
        """Today in the team's time zone."""
        return self.clock().astimezone(self.tz).date()


def _person(who: Member | Person) -> Person:
    if isinstance(who, Person):
        return who
    return Person(who.aad_object_id, who.display_name, f"29:{who.aad_object_id}")


def member(aad: str, name: str, *, production: bool = False, lead: bool = False, active: bool = True,
           days: frozenset[int] = frozenset(range(5)), observer_done: bool = True) -> Member:
    """A roster member for the harness."""
    return Member(aad, name, f"{aad}@liefery.example", production_access=production, working_weekdays=days,
                  role=Role.LEAD if lead else Role.MEMBER, active=active, observer_done=observer_done)
