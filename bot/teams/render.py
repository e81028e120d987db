"""Replies as Bot Framework activities."""

from __future__ import annotations

from botbuilder.schema import Activity, ActivityTypes, Attachment, ChannelAccount, Mention

from ..domain.messages import Card, Reply, Text

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


class _TagAccount(ChannelAccount):
    """A mentioned Teams tag: Teams needs "type": "tag" on the mentioned account, which ChannelAccount lacks."""

    _attribute_map = {**ChannelAccount._attribute_map, "type": {"key": "type", "type": "str"}}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.type = "tag"


def card_attachment(content: dict) -> Attachment:
    """An Adaptive Card attachment."""
    return Attachment(content_type=ADAPTIVE_CARD, content=content)


def to_activity(reply: Reply) -> Activity:
    """One reply as a message activity; mentions become entities that Teams renders."""
    if isinstance(reply, Card):
        return Activity(type=ActivityTypes.message, attachments=[card_attachment(reply.content)], summary=reply.summary or None)
    assert isinstance(reply, Text)
    entities = [
        Mention(mentioned=(_TagAccount if m.tag_mention else ChannelAccount)(id=m.id, name=m.name), text=m.tag, type="mention")
        for m in reply.mentions
        if m.tag in reply.text
    ]
    return Activity(type=ActivityTypes.message, text=reply.text, text_format="markdown", entities=entities or None)
