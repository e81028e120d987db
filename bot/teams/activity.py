"""Activity JSON (bot/web/activities.py) as botbuilder's Activity, keeping what msrest would drop on the way out."""

from __future__ import annotations

from botbuilder.schema import Activity, ChannelAccount, Mention


class _Account(ChannelAccount):
    """A mentioned account: Teams needs "type": "tag" on a mentioned tag, which ChannelAccount lacks."""

    _attribute_map = {**ChannelAccount._attribute_map, "type": {"key": "type", "type": "str"}}

    def __init__(self, *, type: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.type = type


def to_activity(data: dict) -> Activity:
    """botbuilder's Activity for activity JSON; mention entities become Mention models, which msrest sends in full."""
    activity = Activity().deserialize({k: v for k, v in data.items() if k != "entities"})
    if data.get("entities"):
        activity.entities = [
            Mention(mentioned=_Account(**e["mentioned"]), text=e["text"], type="mention") for e in data["entities"]
        ]
    return activity
