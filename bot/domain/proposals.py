"""A proposal for an iteration's team: the suggested or edited week, where its cards are, and its confirmation."""

from __future__ import annotations

from dataclasses import dataclass, field

from .address import Address
from .rotation import RotationWeek


@dataclass(frozen=True)
class Proposal:
    """The team suggested or edited for an iteration, where its card is, and how many alternatives were skipped."""

    week: RotationWeek | None
    skip: int = 0
    address: Address | None = None
    card_id: str = ""
    proposed_by: str = ""
    confirmed_by: str = ""
    reminded: int = 0
    revision: int = 0
    notes: dict = field(default_factory=dict)
    # A confirmation is recorded here first; the week is written after it, and this turns True once it was.
    week_saved: bool = True
    # Pick cards posted by `pick` outside the rotation channel: (address, card id), superseded by the channel's card.
    elsewhere: tuple[tuple[Address, str], ...] = ()
