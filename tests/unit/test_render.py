"""Replies as Bot Framework activities: mentions of people and of Teams tags."""

from bot.domain.messages import Mention, Text
from bot.teams.render import to_activity


def test_a_tag_mention_tells_teams_it_is_a_tag():
    reply = Text("<at>Backend</at> and <at>Lars Lead</at>: please help", (Mention("MjQz", "Backend", tag_mention=True), Mention("29:lars", "Lars Lead")))
    tag, person = to_activity(reply).serialize()["entities"]
    assert tag["mentioned"] == {"id": "MjQz", "name": "Backend", "type": "tag"}
    assert person["mentioned"] == {"id": "29:lars", "name": "Lars Lead"}
