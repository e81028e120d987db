"""parse_webhook reads whatever Bugsnag (or anyone with the URL) sends without raising."""

from __future__ import annotations

import pytest

from bot.integrations.bugsnag import MAX_COUNT, parse_webhook


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param(7, 7, id="int"),
        pytest.param(7.9, 7, id="float"),
        pytest.param("12", 12, id="digit-string"),
        pytest.param(" 12 ", 12, id="padded-string"),
        pytest.param(-3, 0, id="negative"),
        pytest.param(float("inf"), 0, id="infinity"),
        pytest.param(float("-inf"), 0, id="minus-infinity"),
        pytest.param(float("nan"), 0, id="nan"),
        pytest.param(1e300, MAX_COUNT, id="huge-float"),
        pytest.param(10**40, MAX_COUNT, id="huge-int"),
        pytest.param("9" * 5000, 0, id="5000-digit-string"),
        pytest.param("1e999", 0, id="exponent-string"),
        pytest.param(True, 0, id="bool"),
        pytest.param(None, 0, id="none"),
        pytest.param([1], 0, id="list"),
        pytest.param({"n": 1}, 0, id="object"),
    ],
)
def test_counters_are_whole_numbers_within_range(value, expected):
    alert = parse_webhook({"error": {"occurrences": value, "usersAffected": value}})
    assert alert.occurrences == expected
    assert alert.users_affected == expected
