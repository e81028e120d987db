"""Bot Framework activities as JSON, both ways, for both Teams adapters: a parsed activity becomes an inbound event
of the core, and the core's replies become activity JSON that either SDK sends as it is.

Working on the JSON (not on an SDK's activity classes) keeps what Teams sends, and what we send back, in one place.
"""

from __future__ import annotations

from datetime import datetime

from cards.render import render

from ..core.events import Answer, Card, CardAction, Content, Inbound, Installed, Message, Person, Scope, Text
from . import references

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
PLAIN_ANSWER = "application/vnd.microsoft.activity.message"


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def tenant_of(activity: dict) -> str:
    """The tenant an activity comes from, lower-cased; empty when it names none."""
    tenant = _dict(activity.get("conversation")).get("tenantId") or _dict(_dict(activity.get("channelData")).get("tenant")).get("id")
    return str(tenant or "").lower()


def scope_of(activity: dict) -> Scope:
    """Where an activity was written."""
    try:
        return Scope(_dict(activity.get("conversation")).get("conversationType") or "personal")
    except ValueError:
        return Scope.PERSONAL


def sender_of(activity: dict) -> Person:
    """The person behind an activity."""
    sender = _dict(activity.get("from"))
    return Person(str(sender.get("aadObjectId") or "").lower(), str(sender.get("name") or ""), str(sender.get("id") or ""))


def address_of(activity: dict) -> "references.Address":
    """Where the activity was written (a thread's conversation id carries ;messageid=<root>)."""
    conversation = _dict(activity.get("conversation"))
    return references.address(str(activity.get("serviceUrl") or ""), str(conversation.get("id") or ""),
                              tenant_of(activity), str(conversation.get("conversationType") or ""))


def _bot_mentions(activity: dict) -> list[str]:
    """The texts that @mention the bot, read from the entities, as Teams sends them."""
    bot = _dict(activity.get("recipient")).get("id")
    return [str(e.get("text") or "") for e in activity.get("entities") or []
            if isinstance(e, dict) and e.get("type") == "mention" and _dict(e.get("mentioned")).get("id") == bot]


def without_bot_mention(text: str, mentions: list[str]) -> str:
    """The text with the bot's mentions removed (Teams puts them as <at>Name</at>)."""
    for mention in mentions:
        if mention:
            text = text.replace(mention, "")
    return text.strip()


def inbound(activity: dict, at: datetime) -> Inbound | None:
    """The core's event for an activity; None for activities the bot has nothing to do with."""
    kind = activity.get("type")
    scope = scope_of(activity)
    sender, where = sender_of(activity), address_of(activity)
    if kind == "message":
        value = activity.get("value")
        text = str(activity.get("text") or "")
        if isinstance(value, dict) and not text.strip():
            # Action.Submit, the fallback of clients without Universal Actions.
            return CardAction(sender, scope, dict(value), str(activity.get("replyToId") or ""), where, at, invoke=False)
        mentions = _bot_mentions(activity)
        mentioned = scope is Scope.PERSONAL or bool(mentions)
        return Message(str(activity.get("id") or ""), sender, scope, without_bot_mention(text, mentions), mentioned, where, at)
    if kind == "invoke" and activity.get("name") == "adaptiveCard/action":
        action = _dict(_dict(activity.get("value")).get("action"))
        data = dict(_dict(action.get("data")))
        data["verb"] = action.get("verb")
        return CardAction(sender, scope, data, str(activity.get("replyToId") or ""), where, at, invoke=True)
    bot = _dict(activity.get("recipient")).get("id")
    installed = (kind == "installationUpdate" and str(activity.get("action") or "").startswith("add")) or (
        kind == "conversationUpdate" and any(_dict(m).get("id") == bot for m in activity.get("membersAdded") or []))
    if installed:
        team = _dict(_dict(activity.get("channelData")).get("team")).get("id") or ""
        return Installed(sender, scope, where, str(team))
    return None


def outgoing(content: Content) -> dict:
    """A reply as message activity JSON; mentions become the entities Teams renders (a tag is "type": "tag")."""
    if isinstance(content, Card):
        activity = {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": render(content.view)}]}
        if content.summary:
            activity["summary"] = content.summary
        return activity
    assert isinstance(content, Text)
    entities = [
        {"type": "mention", "text": m.tag,
         "mentioned": {"id": m.id, "name": m.name, **({"type": "tag"} if m.tag_mention else {})}}
        for m in content.mentions if m.tag in content.text
    ]
    activity = {"type": "message", "text": content.text, "textFormat": "markdown"}
    if entities:
        activity["entities"] = entities
    return activity


def updated_card(card_id: str, card: Card) -> dict:
    """The activity JSON that replaces a card the bot posted."""
    return {"type": "message", "id": card_id, "attachments": [{"contentType": ADAPTIVE_CARD, "content": render(card.view)}]}


def invoke_body(answer: Answer | None) -> dict:
    """The body Teams expects back for an adaptiveCard/action invoke: the replacement card, or a plain note."""
    if answer is not None and answer.card is not None:
        return {"statusCode": 200, "type": ADAPTIVE_CARD, "value": render(answer.card.view)}
    return {"statusCode": 200, "type": PLAIN_ANSWER, "value": (answer.note if answer else "") or "Done."}
