"""Teams-shaped activities for tests, built from the recorded fixtures."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
BOT_ID = "28:11111111-2222-3333-4444-555555555555"
TENANT = "3f0c7b52-0000-4000-8000-0000000000aa"
_ids = itertools.count(1)


def fixture(name: str) -> dict:
    """A fixture activity, as a fresh dict."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _person(activity: dict, aad: str | None, name: str | None) -> None:
    if aad:
        activity["from"]["aadObjectId"] = aad
        activity["from"]["id"] = f"29:{aad}"
    if name:
        activity["from"]["name"] = name


def personal(text: str, service_url: str, aad: str | None = None, name: str | None = None) -> dict:
    """A 1:1 message to the bot."""
    activity = fixture("personal_message")
    activity["text"] = text
    activity["serviceUrl"] = service_url
    activity["id"] = f"p{next(_ids)}"
    _person(activity, aad, name)
    return activity


def channel_mention(text: str, service_url: str, aad: str | None = None, name: str | None = None,
                    channel: str | None = None) -> dict:
    """A channel message that @mentions the bot, starting a new thread (in #backend unless a channel is given)."""
    activity = fixture("channel_mention")
    message_id = str(1764427330123 + next(_ids))
    activity["id"] = message_id
    activity["text"] = f"<at>Support Bot</at> {text}"
    activity["serviceUrl"] = service_url
    if channel:
        activity["channelData"].update({"channel": {"id": channel}, "teamsChannelId": channel})
    channel = activity["channelData"]["channel"]["id"]
    activity["conversation"]["id"] = f"{channel};messageid={message_id}"
    activity["attachments"] = []
    _person(activity, aad, name)
    return activity


def card_action(verb: str, data: dict, service_url: str, reply_to: str = "1764427331999",
                aad: str | None = None, name: str | None = None, personal_chat: bool = False,
                conversation_id: str | None = None) -> dict:
    """An Action.Execute invoke for a verb."""
    activity = fixture("card_action_execute")
    if conversation_id:
        activity["conversation"]["id"] = conversation_id
    activity["serviceUrl"] = service_url
    activity["id"] = f"i{next(_ids)}"
    activity["replyToId"] = reply_to
    activity["value"]["action"]["verb"] = verb
    activity["value"]["action"]["data"] = {"verb": verb, **data}
    if personal_chat:
        activity["conversation"] = {"conversationType": "personal", "tenantId": TENANT, "id": "a:1personal0chat0id"}
    _person(activity, aad, name)
    return activity


def installed_in_team(service_url: str) -> dict:
    """The bot was added to a team."""
    activity = copy.deepcopy(fixture("bot_installed_in_team"))
    activity["serviceUrl"] = service_url
    return activity


def thread_reply(thread: dict, text: str, service_url: str, aad: str | None = None, name: str | None = None,
                 mention: bool = False) -> dict:
    """A reply inside a channel thread (its conversation id carries ;messageid=<root>), with or without a mention."""
    activity = fixture("channel_mention")
    activity["id"] = str(1764427390000 + next(_ids))
    activity["conversation"]["id"] = thread["conversation"]["id"]
    activity["channelData"] = copy.deepcopy(thread["channelData"])
    activity["serviceUrl"] = service_url
    activity["attachments"] = []
    activity["replyToId"] = thread["conversation"]["id"].partition(";messageid=")[2]
    if mention:
        activity["text"] = f"<at>Support Bot</at> {text}"
    else:
        activity["text"] = text
        activity["entities"] = [e for e in activity["entities"] if e.get("type") != "mention"]
    _person(activity, aad, name)
    return activity


def group_chat(text: str, service_url: str, aad: str | None = None, name: str | None = None) -> dict:
    """A group chat message that @mentions the bot."""
    activity = channel_mention(text, service_url, aad, name)
    activity["conversation"] = {"isGroup": True, "conversationType": "groupChat", "tenantId": TENANT,
                                "id": "19:group0chat0id@thread.v2"}
    activity.pop("channelData", None)
    activity["channelData"] = {"tenant": {"id": TENANT}}
    return activity
