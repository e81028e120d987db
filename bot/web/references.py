"""Bot Framework conversation references inside an opaque Address: one format for both Teams adapters.

Both SDKs speak the same Bot Framework protocol, so an address stored by one works for the other; switching
TEAMS_SDK needs no data migration. Only the adapters (and storage, to read rows written before addresses
were opaque) use this module; the core never looks inside a reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from ..domain.address import Address

THREAD = ";messageid="


@dataclass(frozen=True)
class Reference:
    """What a Bot Framework call needs to reach a conversation."""

    service_url: str
    conversation_id: str  # with ;messageid=<root> when it is a thread
    tenant_id: str
    kind: str  # personal, channel, groupChat, or '' when unknown

    @property
    def is_channel(self) -> bool:
        """True for a channel or a thread in one."""
        return self.kind == "channel"


def address(service_url: str, conversation_id: str, tenant_id: str = "", kind: str = "") -> Address:
    """The address of a conversation as an activity names it (a thread's id carries ;messageid=<root>)."""
    base, _, root = conversation_id.partition(THREAD)
    ref = json.dumps({"serviceUrl": service_url, "conversationId": base, "tenantId": tenant_id or "", "type": kind},
                     sort_keys=True)
    return Address(ref, base, root)


def reference(where: Address) -> Reference:
    """The Bot Framework reference behind an address."""
    data = json.loads(where.ref)
    conversation = data["conversationId"] + (f"{THREAD}{where.thread}" if where.thread else "")
    return Reference(data["serviceUrl"], conversation, data.get("tenantId", ""), data.get("type", ""))


def thread_link(where: Address, message_id: str) -> str:
    """A Teams deep link to a message (the root of a thread) in the channel or chat of an address."""
    ref = reference(where)
    return (f"https://teams.microsoft.com/l/message/{quote(where.place, safe='')}/{message_id}"
            f"?tenantId={ref.tenant_id}&parentMessageId={message_id}")


def from_legacy(service_url: str, conversation_id: str, tenant_id: str = "", channel_id: str = "") -> Address:
    """An address from the four columns rows were written with before addresses became opaque."""
    return address(service_url, conversation_id, tenant_id, "channel" if channel_id else "")


def from_conversation_reference(data: dict) -> Address:
    """An address from a serialized Bot Framework ConversationReference (as installs were stored before)."""
    conversation = data.get("conversation") or {}
    return address(data.get("serviceUrl", ""), conversation.get("id", ""), conversation.get("tenantId", ""),
                   conversation.get("conversationType") or "")
