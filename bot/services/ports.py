"""The small interfaces the services need; storage implements them, tests fake them."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from ..domain.members import Member
from ..domain.messages import Reply
from ..domain.planning import Absence
from ..domain.requests import Address, Person, SupportRequest
from ..domain.rotation import RotationWeek
from ..domain.versioned import Stored


class MemberRepository(Protocol):
    """The roster."""

    async def get(self, aad_object_id: str) -> Stored[Member] | None: ...
    async def list(self) -> list[Stored[Member]]: ...
    async def add(self, member: Member) -> str: ...
    async def replace(self, member: Member, etag: str) -> str: ...


class WeekRepository(Protocol):
    """Rotation weeks."""

    async def get(self, start: date) -> Stored[RotationWeek] | None: ...
    async def between(self, first: date, last: date) -> list[Stored[RotationWeek]]: ...
    async def list(self) -> list[Stored[RotationWeek]]: ...
    async def add(self, week: RotationWeek) -> str: ...
    async def replace(self, week: RotationWeek, etag: str) -> str: ...


class ConversationRepository(Protocol):
    """Conversation references for proactive messages."""

    async def remember(self, kind: str, ref_key: str, reference: dict) -> bool: ...
    async def get(self, kind: str, ref_key: str) -> dict | None: ...
    async def list(self, kind: str) -> dict[str, dict]: ...


class RequestRepository(Protocol):
    """Support requests."""

    async def add(self, request: SupportRequest) -> str: ...
    async def get(self, request_id: str) -> Stored[SupportRequest] | None: ...
    async def replace(self, request: SupportRequest, etag: str) -> str: ...


class Messenger(Protocol):
    """Proactive messages to Teams."""

    async def post(self, address: Address, reply: Reply) -> str: ...
    async def update(self, address: Address, activity_id: str, card: dict) -> None: ...
    async def direct(self, person: Person, reply: Reply, via: Address) -> str: ...


class TicketTracker(Protocol):
    """Where bugs are filed (Jira); one ticket per label, however often it is asked."""

    async def create_once(self, project: str, issue_type: str, summary: str, description: dict, label: str) -> "Ticket": ...


class Ticket(Protocol):
    """A filed ticket."""

    key: str
    url: str


class AbsenceRepository(Protocol):
    """Who is away when."""

    async def add(self, absence: "Absence") -> bool: ...
    async def remove(self, absence: "Absence") -> None: ...
    async def of(self, person: str) -> list["Absence"]: ...
    async def overlapping(self, first: date, last: date) -> list["Absence"]: ...
