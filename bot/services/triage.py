"""Triage outcomes: one registered handler per outcome turns the card's inputs into what is posted and recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..domain.errors import DomainError
from ..core.events import Content, Mention, Text
from ..domain.requests import DbDecision, DbRisk, Outcome, Person, SupportRequest, db_proposal
from ..domain.handbook import Entry
from ..domain.text import join_names
from ..domain.catalogue import Catalogue

LEVELS = ("low", "medium", "high")
ANSWERS = ("yes", "no", "unknown")
MAX_ANSWER = 4000


class MissingInput(DomainError):
    """A required field of the triage form is empty."""


@dataclass(frozen=True)
class TriageResult:
    """What an outcome records, posts in the thread, and sends 1:1."""

    detail: dict
    replies: list[Content]
    resolved: bool = True
    direct: list[tuple[Person, Content]] = field(default_factory=list)
    file_ticket: bool = False


Outcomer = Callable[[SupportRequest, dict, Catalogue, Person], TriageResult]
_OUTCOMES: dict[Outcome, Outcomer] = {}


def outcome(kind: Outcome) -> Callable[[Outcomer], Outcomer]:
    """Register the handler of an outcome."""

    def register(handler: Outcomer) -> Outcomer:
        _OUTCOMES[kind] = handler
        return handler

    return register


def registered() -> set[Outcome]:
    """Every outcome with a handler."""
    return set(_OUTCOMES)


def decide(kind: Outcome, request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """Run the outcome's handler."""
    return _OUTCOMES[kind](request, inputs, catalogue, who)


def field_value(inputs: dict, name: str, required: str = "") -> str:
    """A trimmed text input; MissingInput with the given message when required and empty."""
    value = str(inputs.get(name) or "").strip()[:MAX_ANSWER]
    if required and not value:
        raise MissingInput(required)
    return value


def _requester(request: SupportRequest) -> Mention:
    return Mention(request.requester.mention_id, request.requester.name)


def _to_requester(request: SupportRequest, text: str) -> Text:
    mention = _requester(request)
    return Text(f"{mention.tag} {text}", (mention,))


def _pick(inputs: dict, name: str, options: tuple, what: str):
    raw = str(inputs.get(name) or "").strip()
    if not raw:
        return None
    try:
        return options[int(raw)]
    except (ValueError, IndexError):
        raise MissingInput(f"That {what} is no longer in the catalogue; pick again.") from None


@outcome(Outcome.BUG)
def bug(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """A verified bug: file a ticket for the Edge team (the ticket job posts the key)."""
    summary = field_value(inputs, "bug_summary", "A bug needs a summary.")[:255].replace("\n", " ")
    description = field_value(inputs, "bug_description")
    note = f"{who.name} verified this as a bug; I'm filing a ticket in {catalogue.jira_project} now."
    return TriageResult({"summary": summary, "description": description}, [_to_requester(request, note)],
                        resolved=False, file_ticket=True)


@outcome(Outcome.EXCEPTION)
def exception(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """An exception or error page: explain the cause."""
    cause = field_value(inputs, "exception_cause", "Please write the cause.")
    return TriageResult({"cause": cause}, [_to_requester(request, f"the cause, from {who.name}: {cause}")])


@outcome(Outcome.QUESTION)
def question(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """A quick question: answer it."""
    answer = field_value(inputs, "question_answer", "Please write the answer.")
    return TriageResult({"answer": answer}, [_to_requester(request, answer)])


@outcome(Outcome.TRAINING)
def training(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """A training gap: mention the trainers and the requester, and tell the trainers 1:1."""
    note = field_value(inputs, "training_note")
    trainers = [Mention(t.aad_object_id, t.name) for t in catalogue.trainers]
    names = join_names(m.tag for m in trainers) or "the trainers"
    requester = _requester(request)
    text = f"{names}: this looks like a training gap for {requester.tag}."
    if note:
        text += f" {who.name} notes: {note}"
    dm = Text(f"Training gap flagged by {who.name} for {request.requester.name}: \"{request.text[:300]}\""
              + (f"\n\nNote: {note}" if note else ""))
    direct = [(Person(t.aad_object_id, t.name), dm) for t in catalogue.trainers]
    return TriageResult({"note": note, "trainers": [t.name for t in catalogue.trainers]},
                        [Text(text, (*trainers, requester))], direct=direct)


@outcome(Outcome.DOCUMENTED)
def documented(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """Documented: link the docs page, picked from the catalogue or pasted."""
    picked = _pick(inputs, "docs_choice", catalogue.docs, "page")
    link = field_value(inputs, "docs_link")
    if link and not link.startswith(("https://", "http://")):
        raise MissingInput("The pasted link must start with https://.")
    if picked is None and not link:
        raise MissingInput("Pick a docs page or paste a link.")
    title, url = (picked.title, picked.url) if picked else (link, link)
    return TriageResult({"title": title, "url": url}, [_to_requester(request, f"this is documented: [{title}]({url})")])


def from_handbook(request: SupportRequest, entry: Entry) -> TriageResult:
    """Documented, answered from a handbook entry: the solution goes to the requester, the entry is recorded."""
    answer = entry.answer()[:MAX_ANSWER]
    url = entry.links[0].url if entry.links else ""
    detail = {"title": entry.title, "url": url, "handbook_entry": entry.id, "answer": answer}
    return TriageResult(detail, [_to_requester(request, f"this is in our handbook, **{entry.title}**:\n\n{answer}")])


@outcome(Outcome.NOT_OURS)
def not_ours(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """Not our system: redirect to the owning team or contact."""
    picked = _pick(inputs, "owner_choice", catalogue.owners, "team")
    typed = field_value(inputs, "owner_other")
    if picked is None and not typed:
        raise MissingInput("Pick the owning team or type one.")
    target = f"{picked.name} ({picked.contact})" if picked else typed
    return TriageResult({"owner": target}, [_to_requester(request, f"this isn't a backend system. Please ask {target}.")])


@outcome(Outcome.SELF_SERVICE)
def self_service(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """Self-service data: post the how-to."""
    how_to = catalogue.self_service or "You can extract this data yourself; ask me for the how-to."
    return TriageResult({}, [_to_requester(request, f"you can get this data yourself:\n\n{how_to}")])


@outcome(Outcome.ADMIN_PANEL)
def admin_panel(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """An admin-panel operation: point to the page."""
    picked = _pick(inputs, "admin_choice", catalogue.admin_pages, "page")
    if picked is None:
        raise MissingInput("Pick the admin page.")
    return TriageResult({"title": picked.title, "url": picked.url},
                        [_to_requester(request, f"you can do this in the admin panel: [{picked.title}]({picked.url})")])


def _choice(inputs: dict, name: str, options: tuple[str, ...], default: str) -> str:
    value = str(inputs.get(name) or default).strip().lower()
    if value not in options:
        raise MissingInput(f"{name.removeprefix('db_')} must be one of {', '.join(options)}.")
    return value


@outcome(Outcome.DB_OVERRIDE)
def db_override(request: SupportRequest, inputs: dict, catalogue: Catalogue, who: Person) -> TriageResult:
    """A manual database override: assess the risk; refuse by default, approval needs a second person."""
    risk = DbRisk(
        data=field_value(inputs, "db_data", "Say what data would change."),
        rows=field_value(inputs, "db_rows", "Say how many rows."),
        reversible=_choice(inputs, "db_reversible", ANSWERS, "unknown"),
        restartable=_choice(inputs, "db_restartable", ANSWERS, "unknown"),
        difficulty=_choice(inputs, "db_difficulty", LEVELS, "high"),
        risk=_choice(inputs, "db_risk", LEVELS, "high"),
        reasons=field_value(inputs, "db_reasons"),
    )
    decision = db_proposal(risk, approve=str(inputs.get("db_decision") or "refuse") == "approve")
    detail = {
        "decision": decision.value, "proposed_by": who.aad_object_id, "proposed_by_name": who.name,
        "data": risk.data, "rows": risk.rows, "reversible": risk.reversible, "restartable": risk.restartable,
        "difficulty": risk.difficulty, "risk": risk.risk, "reasons": risk.reasons, "suggestion": risk.suggestion(),
    }
    if decision is DbDecision.REFUSED:
        text = f"we won't change the database by hand (risk {risk.risk}, reversible: {risk.reversible}). {risk.suggestion()}"
        return TriageResult(detail, [_to_requester(request, text)])
    text = (f"{who.name} proposes a manual database change ({risk.rows} rows, risk {risk.risk}). "
            "It needs a second person with production access to confirm on the card; nothing is changed until then.")
    return TriageResult(detail, [Text(text)], resolved=False)
