"""Replies as Bot Framework activity JSON (one rendering for both adapters): mentions of people and of Teams tags."""

from bot.core.events import Card, Mention, Text
from bot.core.views import SupersededView
from bot.domain.iteration import Iteration
from bot.web.activities import outgoing
from datetime import date


def test_a_tag_mention_tells_teams_it_is_a_tag():
    reply = Text("<at>Backend</at> and <at>Lars Lead</at>: please help", (Mention("MjQz", "Backend", tag_mention=True), Mention("29:lars", "Lars Lead")))
    tag, person = outgoing(reply)["entities"]
    assert tag["mentioned"] == {"id": "MjQz", "name": "Backend", "type": "tag"}
    assert person["mentioned"] == {"id": "29:lars", "name": "Lars Lead"}


def test_a_mention_whose_tag_is_not_in_the_text_is_left_out():
    assert "entities" not in outgoing(Text("no tags here", (Mention("29:x", "X"),)))


def test_a_card_is_rendered_from_its_view_at_the_edge():
    activity = outgoing(Card(SupersededView(Iteration(date(2026, 12, 9)), "https://teams.example/l"), summary="Pick"))
    (attachment,) = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "superseded" in str(attachment["content"]) and activity["summary"] == "Pick"
