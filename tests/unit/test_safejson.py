"""The one request-body parser: everything json accepts within the limits, and one error for the rest."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.web.safejson import MAX_DEPTH, JsonRefused, parse


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 200_000, id="200k-open-brackets"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="100k-objects"),
        pytest.param(nested(MAX_DEPTH + 1), id="one-level-too-deep"),
        pytest.param(b"9" * 5000, id="5000-digit-int"),
        pytest.param(b'{"occurrences": ' + b"1" * 31 + b"}", id="31-digit-int"),
        pytest.param(b'{"occurrences": -' + b"1" * 31 + b"}", id="31-digit-negative-int"),
        pytest.param(b'{"occurrences": 1e999}', id="1e999"),
        pytest.param(b'{"occurrences": -1e999}', id="minus-1e999"),
        pytest.param(b"0." + b"1" * 60, id="60-character-float"),
        pytest.param(b'{"occurrences": NaN}', id="NaN"),
        pytest.param(b"[Infinity]", id="Infinity"),
        pytest.param(b"[-Infinity]", id="minus-Infinity"),
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
        pytest.param(b'{"message": "\\ud800"}', id="lone-high-surrogate"),
        pytest.param(b'{"\\udc00": 1}', id="lone-low-surrogate-in-a-key"),
        pytest.param(b'{"a": 1} {"b": 2}', id="two-values"),
    ],
)
def test_refused_bodies_raise_one_error_type(raw):
    with pytest.raises(JsonRefused):
        parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(nested(MAX_DEPTH), id="exactly-the-depth-limit"),
        pytest.param(json.dumps({"text": "[" * 10_000 + "{" * 10_000}).encode(), id="brackets-inside-a-string"),
        pytest.param(json.dumps({"text": 'a "quoted" [ \\ ] { \\" }'}).encode(), id="escaped-quotes-and-backslashes"),
        pytest.param(b'{"n": ' + b"9" * 30 + b"}", id="30-digit-int"),
        pytest.param(b'{"n": -1.5e-300, "m": 1e308, "z": -0.0}', id="finite-floats"),
        pytest.param(b'{"m": 1e-999}', id="underflow-to-zero"),
        pytest.param('{"text": "Größe 🚚 \\ud83d\\ude9a 配送"}'.encode(), id="unicode-and-an-escaped-pair"),
        pytest.param(b'  {"a": [true, false, null, "x", 1, 2.5]}\n', id="every-kind"),
    ],
)
def test_accepted_bodies_parse_as_json_does(raw):
    assert parse(raw) == json.loads(raw)


def test_a_deep_body_is_refused_with_a_reason():
    with pytest.raises(JsonRefused, match="nested deeper than 64"):
        parse(b"[" * 200_000)


def test_a_huge_number_is_refused_with_a_reason():
    with pytest.raises(JsonRefused, match="more than 30 digits"):
        parse(b"1" * 5000)


# Text without lone surrogates: those are refused on purpose (see above).
texts = st.text(st.characters(blacklist_categories=("Cs",)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_any_json_within_the_limits_parses_as_json_does(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert parse(raw) == json.loads(raw)
