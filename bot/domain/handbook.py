"""The emergency handbook: common problems and their solutions, kept as Markdown in the wiki and as entries here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime

from .errors import FileProblems

MAX_TITLE = 200
MAX_SOLUTION = 8000
_URL = re.compile(r"^https?://\S+$")
_LINK = re.compile(r"^\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)$")
_META = re.compile(r"^<!--\s*handbook:(?P<body>.*?)-->$")
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


class HandbookError(FileProblems):
    """A handbook file (or the card's form) with problems; nothing was written."""


@dataclass(frozen=True)
class Link:
    """A link of an entry, with an optional text."""

    url: str
    text: str = ""

    def markdown(self) -> str:
        """The link as a Markdown list item body."""
        return f"[{self.text}]({self.url})" if self.text else self.url


@dataclass(frozen=True)
class Entry:
    """One common problem and its solution."""

    id: str
    title: str
    keywords: tuple[str, ...] = ()
    solution: str = ""
    links: tuple[Link, ...] = ()
    added_by: str = ""
    added_at: datetime | None = None
    uses: int = 0
    revision: int = 0

    def used(self) -> "Entry":
        """One more time this entry answered a request."""
        return replace(self, uses=self.uses + 1, revision=self.revision + 1)

    def edited(self, other: "Entry") -> "Entry":
        """Take the wiki's text of an entry; who added it and how often it was used stay ours."""
        return replace(self, title=other.title, keywords=other.keywords, solution=other.solution, links=other.links,
                       revision=self.revision + 1)

    def learned(self, words: tuple[str, ...]) -> "Entry":
        """More keywords, from a request the entry answered but did not match; repeats (any case) are left out."""
        known = {k.casefold() for k in self.keywords}
        new = []
        for word in words:
            if word.casefold() not in known:
                known.add(word.casefold())
                new.append(word)
        new = tuple(new)
        return replace(self, keywords=self.keywords + new, revision=self.revision + 1) if new else self

    def same_text(self, other: "Entry") -> bool:
        """True when title, keywords, solution and links are the same."""
        return (self.title, self.keywords, self.solution, self.links) == (other.title, other.keywords, other.solution, other.links)

    def answer(self) -> str:
        """The solution as posted to a requester, with its links."""
        lines = [self.solution]
        if self.links:
            lines.append("\n".join(f"- {link.markdown()}" for link in self.links))
        return "\n\n".join(part for part in lines if part)


def slug(title: str) -> str:
    """A stable id from a title: ASCII, lower case, words joined by hyphens (umlauts folded as ae/oe/ue)."""
    folded = unicodedata.normalize("NFKD", title.lower().translate(_FOLD)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:80] or "entry"


def new_entry(title: str, keywords: str, solution: str, links: str, added_by: str, at: datetime) -> Entry:
    """An entry from the card's form, checked like an imported one."""
    title = " ".join(title.split())
    problems = []
    if not title:
        problems.append("A title is needed.")
    if not solution.strip():
        problems.append("A solution is needed.")
    parsed_links = []
    for raw in re.split(r"[\s,]+", links.strip()):
        if raw and not _URL.match(raw):
            problems.append(f"Not a link: {raw[:80]}")
        elif raw:
            parsed_links.append(Link(raw))
    if len(title) > MAX_TITLE or len(solution) > MAX_SOLUTION:
        problems.append(f"Too long: a title has at most {MAX_TITLE} characters, a solution {MAX_SOLUTION}.")
    if problems:
        raise HandbookError(problems)
    return Entry(slug(title), title, parse_keywords(keywords), solution.strip(), tuple(parsed_links), added_by, at)


def parse_keywords(raw: str) -> tuple[str, ...]:
    """Comma-separated keywords, trimmed, without repeats."""
    seen: dict[str, None] = {}
    for word in raw.split(","):
        word = " ".join(word.split())
        if word:
            seen.setdefault(word, None)
    return tuple(seen)


@dataclass
class _Section:
    title: str
    line: int
    keywords: tuple[str, ...] = ()
    links: list[Link] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    in_links: bool = False


def parse_handbook(text: str) -> list[Entry]:
    """The entries of a Markdown handbook, one per `##` section; HandbookError lists every problem by line."""
    problems: list[str] = []
    sections: list[_Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.startswith("## ") or line == "##":
            sections.append(_Section(line[2:].strip(), number))
            continue
        if not sections:
            if line and not line.startswith("# ") and not line.startswith("<!--"):
                problems.append(f"line {number}: text before the first `## ` section")
            continue
        _section_line(sections[-1], line, number, problems)
    entries = _entries(sections, problems)
    if problems:
        raise HandbookError(sorted(problems, key=lambda p: int(p.split(":", 1)[0].removeprefix("line "))))
    return entries


def _section_line(section: _Section, line: str, number: int, problems: list[str]) -> None:
    stripped = line.strip()
    lower = stripped.lower()
    if line.startswith("# ") or line.startswith("### "):
        problems.append(f"line {number}: only `## ` headings start entries; use plain text inside an entry")
    elif lower.startswith("keywords:") or lower.startswith("schlagworte:"):
        section.keywords = parse_keywords(stripped.split(":", 1)[1])
        section.in_links = False
    elif lower.startswith("links:"):
        section.in_links = True
        rest = stripped.split(":", 1)[1].strip()
        if rest:
            _add_link(section, rest, number, problems)
    elif section.in_links and stripped.startswith(("- ", "* ")):
        _add_link(section, stripped[2:].strip(), number, problems)
    elif (meta := _META.match(stripped)) is not None:
        section.meta = _meta(meta.group("body"), number, problems)
    else:
        # A blank line or prose ends the link list, so a solution may use bullets of its own.
        section.in_links = False
        section.body.append(line)


def _add_link(section: _Section, raw: str, number: int, problems: list[str]) -> None:
    match = _LINK.match(raw)
    if match and _URL.match(match.group("url")):
        section.links.append(Link(match.group("url"), match.group("text").strip()))
    elif _URL.match(raw):
        section.links.append(Link(raw))
    else:
        problems.append(f"line {number}: not a link: {raw[:80]!r} (write https://… or [text](https://…))")


def _meta(body: str, number: int, problems: list[str]) -> dict[str, str]:
    meta = {}
    for part in body.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            problems.append(f"line {number}: handbook comment needs name=value pairs")
            continue
        meta[name.strip()] = value.strip()
    return meta


def _entries(sections: list[_Section], problems: list[str]) -> list[Entry]:
    entries, seen = [], {}
    for s in sections:
        solution = "\n".join(s.body).strip()
        entry_id = s.meta.get("id") or slug(s.title)
        if not s.title:
            problems.append(f"line {s.line}: an entry needs a title after `## `")
        elif len(s.title) > MAX_TITLE:
            problems.append(f"line {s.line}: the title is longer than {MAX_TITLE} characters")
        if not solution:
            problems.append(f"line {s.line}: entry {s.title!r} has no solution text")
        elif len(solution) > MAX_SOLUTION:
            problems.append(f"line {s.line}: the solution of {s.title!r} is longer than {MAX_SOLUTION} characters")
        if entry_id in seen:
            problems.append(f"line {s.line}: {s.title!r} is the same entry as line {seen[entry_id]}; titles must differ")
        seen.setdefault(entry_id, s.line)
        entries.append(Entry(entry_id, s.title, s.keywords, solution, tuple(s.links), s.meta.get("added_by", ""),
                             _when(s.meta.get("added_at"), s.line, problems)))
    return entries


def _when(raw: str | None, number: int, problems: list[str]) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        problems.append(f"line {number}: added_at {raw!r} is not an ISO date")
        return None


def render_handbook(entries: list[Entry], title: str = "Backend support handbook") -> str:
    """The entries as Markdown that parse_handbook reads back to the same entries."""
    parts = [f"# {title}", ""]
    for entry in sorted(entries, key=lambda e: e.title.lower()):
        parts.append(f"## {entry.title}")
        meta = [f"id={entry.id}"]
        if entry.added_by:
            meta.append(f"added_by={entry.added_by.replace(';', ',')}")
        if entry.added_at:
            meta.append(f"added_at={entry.added_at.isoformat()}")
        meta.append(f"uses={entry.uses}")
        parts.append(f"<!-- handbook: {'; '.join(meta)} -->")
        if entry.keywords:
            parts.append("Keywords: " + ", ".join(entry.keywords))
        if entry.links:
            parts.append("Links:")
            parts.extend(f"- {link.markdown()}" for link in entry.links)
        parts.extend(["", entry.solution, ""])
    return "\n".join(parts).rstrip() + "\n"
