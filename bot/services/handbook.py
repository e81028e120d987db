"""The handbook use cases: import and export the wiki's Markdown, suggest entries for a request, count their use."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from ..domain.errors import AlreadyExists, DomainError, NotFound
from ..domain.handbook import Entry, parse_handbook, render_handbook
from ..domain.matching import HandbookIndex, Suggestion
from .changes import change_stored
from .ports import HandbookRepository

log = logging.getLogger(__name__)
# Other instances may add entries too; a short cache keeps matching off the Table round trip most of the time.
INDEX_SECONDS = 60.0


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    added: int
    updated: int
    unchanged: int

    def summary(self) -> str:
        """One line for the command line."""
        return f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged"


class Handbook:
    """Handbook entries behind a repository, with a cached matching index."""

    def __init__(self, entries: HandbookRepository, clock: Callable[[], datetime]) -> None:
        self._entries = entries
        self._clock = clock
        self._index: HandbookIndex | None = None
        self._by_id: dict[str, Entry] = {}
        self._built_at = 0.0

    async def import_markdown(self, text: str, imported_by: str = "import") -> ImportReport:
        """Load a Markdown handbook; the same file twice changes nothing, and use counts are kept."""
        parsed = parse_handbook(text)
        current = {s.value.id: s.value for s in await self._entries.list()}  # one query, not one read per entry
        added = updated = unchanged = 0
        for entry in parsed:
            known = current.get(entry.id)
            if known is not None and known.same_text(entry):
                unchanged += 1
            elif known is None and await self._add_imported(entry, imported_by):
                added += 1
            else:
                # Another writer may have changed (or just added) it since the query: compare again on the fresh row.
                await change_stored(lambda e=entry: self._entries.get(e.id), self._entries.replace,
                                    lambda old, e=entry: old if old.same_text(e) else old.edited(e))
                updated += 1
        self._index = None
        return ImportReport(added, updated, unchanged)

    async def _add_imported(self, entry: Entry, imported_by: str) -> bool:
        try:
            await self._entries.add(Entry(entry.id, entry.title, entry.keywords, entry.solution, entry.links,
                                          entry.added_by or imported_by, entry.added_at or self._clock()))
            return True
        except AlreadyExists:
            return False  # another import got there first

    async def export_markdown(self) -> str:
        """Every entry as Markdown, for the wiki."""
        return render_handbook([s.value for s in await self._entries.list()])

    async def entries(self) -> list[Entry]:
        """Every entry."""
        return [s.value for s in await self._entries.list()]

    async def _current_index(self) -> HandbookIndex:
        if self._index is None or time.monotonic() - self._built_at > INDEX_SECONDS:
            entries = await self.entries()
            self._index, self._by_id = HandbookIndex(entries), {e.id: e for e in entries}
            self._built_at = time.monotonic()
        return self._index

    async def suggest(self, text: str, limit: int = 3) -> list[tuple[Suggestion, Entry]]:
        """Up to `limit` entries that answer this text, best first; none rather than weak ones."""
        index = await self._current_index()
        return [(s, self._by_id[s.entry_id]) for s in index.suggest(text, limit=limit) if s.entry_id in self._by_id]

    def titles(self) -> list[tuple[str, str]]:
        """The entries last loaded, most used first, as (id, title): for the card's "already in the handbook" choice."""
        return [(e.id, e.title) for e in sorted(self._by_id.values(), key=lambda e: (-e.uses, e.title.lower()))]

    async def ensure_loaded(self) -> None:
        """Load the entries unless a recent copy is at hand; a failure leaves the card without the choice, never an error."""
        try:
            await self._current_index()
        except DomainError as err:
            log.warning("could not load the handbook: %s", err)

    async def teach(self, entry_id: str, words: tuple[str, ...]) -> Entry:
        """Add a request's words to an entry's keywords, so that the next request like it finds the entry."""
        try:
            entry = await change_stored(lambda: self._entries.get(entry_id), self._entries.replace, lambda e: e.learned(words))
        except NotFound:
            raise NotFound("That handbook entry no longer exists.") from None
        self._index = None
        return entry

    async def get(self, entry_id: str) -> Entry:
        """One entry; NotFound when it was removed."""
        stored = await self._entries.get(entry_id)
        if stored is None:
            raise NotFound("That handbook entry no longer exists.")
        return stored.value

    async def count_use(self, entry_id: str) -> None:
        """One more request answered by this entry; a lost count is logged, never shown to anyone."""
        try:
            await change_stored(lambda: self._entries.get(entry_id), self._entries.replace, lambda e: e.used())
        except DomainError as err:
            log.warning("could not count a use of handbook entry %s: %s", entry_id, err)

    async def add(self, entry: Entry) -> Entry:
        """A new entry from the card's form; AlreadyExists names the entry with that title."""
        try:
            await self._entries.add(entry)
        except AlreadyExists:
            raise AlreadyExists(f"The handbook already has an entry called “{entry.title}”.") from None
        self._index = None
        return entry
