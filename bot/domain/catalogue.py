"""The support catalogue as data: what the triage card offers, the team's working hours, Jira's project."""

from __future__ import annotations

from dataclasses import dataclass, field

from .calendar import TeamCalendar


@dataclass(frozen=True)
class Link:
    """A titled URL: a docs page or an admin page."""

    title: str
    url: str


@dataclass(frozen=True)
class Contact:
    """Who owns a system that is not ours, and how to reach them."""

    name: str
    contact: str


@dataclass(frozen=True)
class Trainer:
    """Someone who closes training gaps; mentioned by Entra object id."""

    name: str
    aad_object_id: str


@dataclass(frozen=True)
class AskTeam:
    """Who "Ask the team" mentions: a Teams tag, or named people; nobody configured means the leads."""

    tag_id: str = ""
    tag_name: str = ""
    people: tuple[Trainer, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """Everything the triage card offers, and the team's working hours."""

    calendar: TeamCalendar = field(default_factory=TeamCalendar)
    request_channels: frozenset[str] = frozenset()
    trainers: tuple[Trainer, ...] = ()
    docs: tuple[Link, ...] = ()
    admin_pages: tuple[Link, ...] = ()
    owners: tuple[Contact, ...] = ()
    self_service: str = ""
    jira_project: str = "EDGE"
    jira_issue_type: str = "Bug"
    ask_team: AskTeam = field(default_factory=AskTeam)

    def is_request_channel(self, channel_id: str, registered: frozenset[str] = frozenset()) -> bool:
        """A channel takes requests when configured or registered; with none of either, every channel does."""
        chosen = self.request_channels | registered
        return not chosen or channel_id in chosen
