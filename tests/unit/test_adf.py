"""adf_document builds valid Atlassian Document Format, checked by the Jira stand-in's own validator."""

from __future__ import annotations

import pytest

from bot.integrations.jira import adf_document
from tests.support.jira import adf_problems

LINK = "https://app.bugsnag.com/liefery/backend/errors/1"


def valid(doc: dict) -> dict:
    """The document, after asserting the stand-in would accept it."""
    assert adf_problems(doc) == []
    return doc


def paragraphs(doc: dict) -> list[list[dict]]:
    """Each paragraph's inline nodes."""
    return [block.get("content", []) for block in valid(doc)["content"]]


def test_plain_text_is_one_paragraph() -> None:
    assert valid(adf_document(["Printer on fire"])) == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Printer on fire"}]}],
    }


def test_newlines_become_hard_breaks() -> None:
    [nodes] = paragraphs(adf_document(["one\ntwo\r\n\nthree\n"]))

    assert nodes == [
        {"type": "text", "text": "one"},
        {"type": "hardBreak"},
        {"type": "text", "text": "two"},
        {"type": "hardBreak"},
        {"type": "hardBreak"},
        {"type": "text", "text": "three"},
    ]


def test_runs_become_text_and_links() -> None:
    [nodes] = paragraphs(adf_document([[("See ", None), ("Bugsnag", LINK), ("", None), (" now", None)]]))

    assert nodes == [
        {"type": "text", "text": "See "},
        {"type": "text", "text": "Bugsnag", "marks": [{"type": "link", "attrs": {"href": LINK}}]},
        {"type": "text", "text": " now"},
    ]


def test_a_link_without_text_shows_its_address() -> None:
    [nodes] = paragraphs(adf_document([[("", LINK)]]))

    assert nodes == [{"type": "text", "text": LINK, "marks": [{"type": "link", "attrs": {"href": LINK}}]}]


def test_empty_paragraphs_are_dropped() -> None:
    assert paragraphs(adf_document(["", "kept", "\n\n", [("", None)]])) == [[{"type": "text", "text": "kept"}]]


@pytest.mark.parametrize("empty", [[], [""], ["\n"], [[]]])
def test_empty_input_is_still_a_valid_document(empty: list) -> None:
    assert valid(adf_document(empty))["content"] == [{"type": "paragraph"}]


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "doc", "version": 2, "content": []},
        {"type": "doc", "version": 1},
        {"type": "doc", "version": 1, "content": [{"type": "text", "text": "inline at top level"}]},
        {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]},
        {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "paragraph"}]}]},
        {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "link"}]}]}
        ]},
    ],
)
def test_the_validator_refuses_invalid_documents(doc: dict) -> None:
    assert adf_problems(doc) != []
