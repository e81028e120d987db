"""Prove the Adaptive Card checker accepts a good Teams card and rejects each kind of defect."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import cardcheck
from tests.support.cardcheck import assert_valid_cards, card_problems

Card = dict[str, Any]


def valid_card() -> Card:
    """Return a Teams-ready 1.5 card using the elements and actions the bot relies on."""
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "refresh": {
            "action": {"type": "Action.Execute", "verb": "refresh", "data": {"card": "rota"}},
            "userIds": [f"29:user-{i}" for i in range(60)],
        },
        "body": [
            {"type": "TextBlock", "text": "Support rotation", "size": "Large", "weight": "Bolder", "wrap": True},
            {"type": "FactSet", "facts": [{"title": "On call", "value": "Ada"}, {"title": "Until", "value": "Fri"}]},
            {
                "type": "ColumnSet",
                "columns": [
                    {"type": "Column", "width": "auto", "items": [{"type": "TextBlock", "text": "Next"}]},
                    {"type": "Column", "width": "stretch", "items": [{"type": "TextBlock", "text": "Grace"}]},
                ],
            },
            {"type": "Input.Text", "id": "note", "label": "Handover note", "isMultiline": True},
            {
                "type": "Input.ChoiceSet",
                "id": "person",
                "label": "Swap with",
                "choices": [{"title": "Grace", "value": "grace"}, {"title": "Linus", "value": "linus"}],
                "value": "grace",
            },
        ],
        "actions": [
            {
                "type": "Action.Execute",
                "title": "Swap",
                "verb": "swap",
                "data": {"rota": "support"},
                "fallback": {"type": "Action.Submit", "title": "Swap", "data": {"verb": "swap"}},
            },
            {"type": "Action.Submit", "title": "Acknowledge", "data": {"action": "ack"}},
        ],
    }


def mutated(change: Callable[[Card], None]) -> Card:
    """Return a copy of the valid card with one change applied."""
    card = copy.deepcopy(valid_card())
    change(card)
    return card


def set_key(path: list[str | int], value: Any) -> Callable[[Card], None]:
    """Return a change that sets card[path...] = value."""

    def change(card: Card) -> None:
        """Set the value at path."""
        target: Any = card
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def del_key(path: list[str | int]) -> Callable[[Card], None]:
    """Return a change that deletes card[path...]."""

    def change(card: Card) -> None:
        """Delete the value at path."""
        target: Any = card
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


def append(key: str, item: Any) -> Callable[[Card], None]:
    """Return a change that appends item to card[key]."""
    return lambda card: card[key].append(item)


# name -> (the one defect, words that one reported problem must all contain)
BAD_CARDS: dict[str, tuple[Callable[[Card], None], list[str]]] = {
    "unknown_element_type": (append("body", {"type": "Fancy.Widget", "text": "x"}), ["UnknownElementType", "Fancy.Widget"]),
    "unknown_action_type": (append("actions", {"type": "Action.Teleport", "title": "Go"}), ["UnknownActionType", "Action.Teleport"]),
    "duplicate_input_ids": (append("body", {"type": "Input.Text", "id": "note", "label": "Again"}), ["DuplicateId", "note"]),
    "input_text_without_label": (del_key(["body", 3, "label"]), ["Input.Text", "label"]),
    "required_input_without_label": (
        append("body", {"type": "Input.Text", "id": "why", "isRequired": True, "errorMessage": "Say why"}),
        ["RequiredInputsShouldHaveLabel"],
    ),
    "version_1_6": (set_key(["version"], "1.6"), ["version", '"1.6"']),
    "version_missing": (del_key(["version"]), ["version", "1.5"]),
    "execute_without_verb": (del_key(["actions", 0, "verb"]), ["Action.Execute", "verb"]),
    "execute_blank_verb": (set_key(["actions", 0, "verb"], "  "), ["Action.Execute", "verb"]),
    "nested_execute_without_verb": (
        append("body", {"type": "ActionSet", "actions": [{"type": "Action.Execute", "title": "Go"}]}),
        ["body[5].actions[0]", "Action.Execute", "verb"],
    ),
    "image_without_url": (append("body", {"type": "Image", "altText": "logo"}), ["Image", "url"]),
    "card_over_80_kb": (append("body", {"type": "TextBlock", "text": "x" * 82_000}), ["80 KB", "bytes"]),
    "wrong_top_level_type": (set_key(["type"], "MessageCard"), ["type", "AdaptiveCard", "MessageCard"]),
    "invalid_property_value": (set_key(["body", 0, "size"], "Huge"), ["InvalidPropertyValue", "Huge"]),
    "property_newer_than_1_5": (set_key(["actions", 1, "role"], "Button"), ["UnsupportedProperty", "role"]),
    "refresh_over_60_user_ids": (set_key(["refresh", "userIds"], [f"29:u{i}" for i in range(61)]), ["userIds", "61"]),
    "body_item_not_object": (append("body", None), ["body[5]", "object"]),
    "unknown_type_even_with_fallback": (
        append("body", {"type": "Fancy.Widget", "fallback": {"type": "TextBlock", "text": "x"}}),
        ["UnknownElementType", "Fancy.Widget"],
    ),
    "chart_without_fallback": (append("body", {"type": "Chart.Donut", "data": [{"legend": "Bug", "value": 3}]}), ["Chart.Donut", "fallback"]),
    "chart_fallback_gets_the_parsers_checks": (
        append("body", {"type": "Chart.Donut", "data": [{"legend": "Bug", "value": 3}],
                        "fallback": {"type": "TextBlock", "text": "Bug 3", "size": "Huge"}}),
        ["InvalidPropertyValue", "Huge"],
    ),
    "chart_data_of_the_wrong_shape": (
        append("body", {"type": "Chart.VerticalBar", "data": [{"x": "16", "y": "5"}], "fallback": {"type": "TextBlock", "text": "16h 5"}}),
        ["Chart.VerticalBar", "data[0].y", "number"],
    ),
}


def valid_card_with_charts() -> Card:
    """The valid card plus Teams charts, each with a fallback for clients without charts."""
    card = valid_card()
    card["body"] += [
        {"type": "Chart.VerticalBar", "data": [{"x": "16", "y": 5}], "fallback": {"type": "TextBlock", "text": "16h 5"}},
        {"type": "Chart.Donut", "data": [{"legend": "Bug", "value": 3}], "fallback": "drop"},
    ]
    return card


@pytest.fixture(scope="module")
def results() -> dict[str, list[str]]:
    """Check the valid card and every bad card in a single node run."""
    names = ["valid", "valid_with_charts", *BAD_CARDS]
    cards = [valid_card(), valid_card_with_charts(), *(mutated(change) for change, _ in BAD_CARDS.values())]
    return dict(zip(names, card_problems(cards)))


def test_valid_card_passes(results: dict[str, list[str]]) -> None:
    """The baseline every bad card is derived from has no problems."""
    assert results["valid"] == []


def test_teams_charts_with_a_fallback_pass(results: dict[str, list[str]]) -> None:
    """Chart.* elements are unknown to the parser but fine in Teams when other clients get a fallback."""
    assert results["valid_with_charts"] == []


@pytest.mark.parametrize("name", list(BAD_CARDS))
def test_bad_card_is_reported(results: dict[str, list[str]], name: str) -> None:
    """Each single defect yields a problem naming it."""
    words = BAD_CARDS[name][1]
    problems = results[name]
    assert any(all(word in problem for word in words) for problem in problems), problems


def test_assert_valid_cards_names_the_bad_card() -> None:
    """assert_valid_cards passes valid cards and reports a bad one by index with an excerpt."""
    assert_valid_cards(valid_card())
    with pytest.raises(AssertionError) as failure:
        assert_valid_cards(valid_card(), mutated(del_key(["actions", 0, "verb"])))
    message = str(failure.value)
    assert "1 of 2 cards invalid" in message
    assert "card #1 {" in message and "card #0" not in message
    assert "Action.Execute needs a non-empty string \"verb\"" in message


def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without node on PATH the checker refuses instead of passing silently."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="Node.js"):
        card_problems([valid_card()])


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the adaptivecards package the checker refuses instead of passing silently."""
    monkeypatch.setattr(cardcheck, "BUNDLE", tmp_path / "adaptivecards.js")
    with pytest.raises(RuntimeError, match="adaptivecards"):
        card_problems([valid_card()])
