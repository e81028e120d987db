"""Incidents: requests in one channel about the same problem, grouped under the first one while it is open.

A wrong grouping is worse than none (a requester would wait on someone else's thread), so a request joins an
incident only when the match is certain: the same error class or quoted error message, or words so alike that
no two different problems in the labelled sets come that close (tests/unit/test_incidents.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Sequence

from .matching import RequestCorpus, terms

# Grouped without asking: near duplicates only. Two different problems in tests/data score up to 59 (the same hub,
# "Etiketten gedruckt" vs "Druckerpapier"), so anything below this is at most a suggestion on the card.
THRESHOLD = 66.0
# Offered on the triage card as "same problem as …?", for support to decide with one click.
SUGGEST = 40.0
# An open request older than this is not "what is breaking right now".
WINDOW = timedelta(hours=4)
# Words alone group only requests that say enough: two people writing "Hilfe!" need not mean the same thing.
MIN_TERMS = 3
_ERROR_CLASS = re.compile(r"\b(?:[A-Z][A-Za-z0-9]+::)*[A-Z][A-Za-z0-9]*(?:Error|Exception|Timeout|Failure)\b")
_QUOTED = re.compile(r'"([^"]{12,200})"|“([^”]{12,200})”|„([^“”]{12,200})[“”]')


@dataclass(frozen=True)
class OpenRequest:
    """What grouping needs to know of an open request in a channel."""

    id: str
    text: str
    received_at: datetime
    requester: str = ""
    incident: str = ""  # the root's id when this request is grouped under another


def error_signatures(text: str) -> set[str]:
    """Error classes (NoMethodError, Net::ReadTimeout, ...) and quoted error messages a request names."""
    found = {m.group(0).lower() for m in _ERROR_CLASS.finditer(text)}
    found |= {" ".join(next(g for g in m.groups() if g).lower().split()) for m in _QUOTED.finditer(text)}
    return found


def _roots(received_at: datetime, open_requests: Sequence[OpenRequest]) -> list[OpenRequest]:
    return [r for r in open_requests if not r.incident and received_at - WINDOW <= r.received_at <= received_at]


def _members(received_at: datetime, open_requests: Sequence[OpenRequest]) -> list[tuple[OpenRequest, OpenRequest]]:
    """(request, its incident's root) for every open root and every request grouped under one: an incident is
    described by all its requests, so a new one may match any of them (in the words its requester chose)."""
    roots = {r.id: r for r in _roots(received_at, open_requests)}
    members = [(r, r) for r in roots.values()]
    members += [(r, roots[r.incident]) for r in open_requests if r.incident in roots and r.received_at <= received_at]
    return members


def scored(text: str, roots: Sequence[OpenRequest]) -> list[tuple[float, OpenRequest]]:
    """How alike the text is to each root (0 to 100, an error signature in common counts 100), best first.

    Words are weighed by their rarity among the text and the roots; only roots that share a close word score
    above 0 (RequestCorpus), and a root or a text with fewer than MIN_TERMS words is scored by signature only.
    """
    mine = error_signatures(text)
    corpus = RequestCorpus((r.id, r.text) for r in roots)
    words = len(set(terms(text)))
    alike = corpus.scores(text) if words >= MIN_TERMS else {}
    result = []
    for root in roots:
        if mine and mine & _signatures(root.text):
            result.append((100.0, root))
        elif words >= MIN_TERMS and len(corpus.terms_of(root.id)) >= MIN_TERMS:
            result.append((alike.get(root.id, 0.0), root))
    return sorted(result, key=lambda pair: (-pair[0], pair[1].received_at))


@lru_cache(maxsize=2048)
def _signatures(text: str) -> frozenset[str]:
    return frozenset(error_signatures(text))


def incident_for(text: str, received_at: datetime, open_requests: Sequence[OpenRequest],
                 threshold: float = THRESHOLD) -> OpenRequest | None:
    """The open root request this one belongs with, or None when no match is certain.

    The text is compared with every open incident's requests (roots and the requests grouped under them, within
    WINDOW); a match joins the incident's root, and the earliest of the certain matches wins, so a whole rush
    ends up under the request that started it.
    """
    members = _members(received_at, open_requests)
    root_of = {request.id: root for request, root in members}
    matches = [root_of[request.id] for score, request in scored(text, [request for request, _ in members])
               if score >= threshold]
    return min(matches, key=lambda r: r.received_at) if matches else None


def suggestions(text: str, received_at: datetime, open_requests: Sequence[OpenRequest], limit: int = 3) -> list[OpenRequest]:
    """Open requests that may be the same problem (for support to confirm), most alike first."""
    return [root for score, root in scored(text, _roots(received_at, open_requests)) if score >= SUGGEST][:limit]
