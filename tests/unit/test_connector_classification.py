"""Which Bot Connector answers are worth another try later, and which are final."""

from __future__ import annotations

import pytest

from bot.domain.errors import DeliveryFailed
from bot.domain.jobs import RetryLater
from bot.web.connector import ConnectorFailure, delivery_error, is_transient

TRANSIENT, PERMANENT = True, False


@pytest.mark.parametrize(
    "status, code, expected",
    [
        # Throttling, concurrent writes and the service itself: later.
        (429, "Throttled", TRANSIENT),
        (429, "", TRANSIENT),
        (412, "PreconditionFailed", TRANSIENT),
        (408, "", TRANSIENT),
        (500, "ServiceError", TRANSIENT),
        (500, "", TRANSIENT),
        (502, "", TRANSIENT),
        (503, "ServiceUnavailable", TRANSIENT),
        (504, "GatewayTimeout", TRANSIENT),
        (401, "", TRANSIENT),  # our own credentials: fixed by an operator, then the message goes out
        (None, "Timeout", TRANSIENT),
        (None, "ConnectionError", TRANSIENT),
        # The chat, the person or the message itself: final.
        (400, "BadArgument", PERMANENT),
        (400, "", PERMANENT),
        (403, "Forbidden", PERMANENT),
        (403, "BotNotInConversationRoster", PERMANENT),
        (403, "ConversationBlockedByUser", PERMANENT),
        (403, "BotDisabledByAdmin", PERMANENT),
        (403, "MessageWritesBlocked", PERMANENT),
        (403, "UserNotFound", PERMANENT),
        (403, "", PERMANENT),
        (404, "ConversationNotFound", PERMANENT),
        (404, "ActivityNotFoundInConversation", PERMANENT),
        (404, "", PERMANENT),
        (413, "MessageSizeTooBig", PERMANENT),
        (501, "", PERMANENT),
        # The code in the body wins over the status.
        (500, "ConversationNotFound", PERMANENT),
        (403, "Throttled", TRANSIENT),
    ],
)
def test_connector_answers_are_told_apart(status, code, expected):
    assert is_transient(status, code) is expected


def test_a_refusal_is_one_line_with_its_code():
    error = delivery_error("writing to Dora Dev", ConnectorFailure(403, "UserNotFound", "User not found."))
    assert isinstance(error, DeliveryFailed)
    assert str(error) == "writing to Dora Dev: Teams refused it with 403 UserNotFound (User not found.)"
    assert (error.code, error.status) == ("UserNotFound", 403)


def test_a_refusal_without_a_code_carries_the_status():
    error = delivery_error("posting to 19:x", ConnectorFailure(404, "", "Not Found"))
    assert isinstance(error, DeliveryFailed) and error.code == "404"


def test_throttling_carries_retry_after():
    error = delivery_error("posting to 19:x", ConnectorFailure(429, "Throttled", "Too many requests", 42.0))
    assert isinstance(error, RetryLater) and error.after_seconds == 42.0
    assert "429 Throttled" in str(error)
