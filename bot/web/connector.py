"""Sends to the Bot Connector, whichever SDK makes them: failures told apart into transient (RetryLater) and
permanent (DeliveryFailed), and the short in-call retry. Each adapter says how its SDK's exceptions read
(a `classify` function returning a ConnectorFailure); the rules are here, once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from ..domain.errors import DeliveryFailed
from ..domain.jobs import RetryLater
from ..domain.retry import RETRYABLE_STATUS, RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")

# Inside a user's request (Teams waits 10-15 s) and inside a job alike, only short waits happen here; a longer
# Retry-After, or a Connector that keeps failing, becomes RetryLater and the job runner waits instead.
SEND_POLICY = RetryPolicy(attempts=4, base=0.5, cap=2.0, budget=4.0)

# The `error.code` of Connector answers that no retry will fix (Teams platform docs, "status codes from bot
# conversational APIs", and what the Connector sends for unknown users and chats).
PERMANENT_CODES = frozenset({
    "ActivityNotFoundInConversation", "BadArgument", "BadSyntax", "BotDisabledByAdmin", "BotDisabledByUser",
    "BotNotInConversationRoster", "ConversationBlockedByUser", "ConversationNotFound", "Forbidden",
    "MessageSizeTooBig", "MessageWritesBlocked", "NotFound", "UserNotFound",
})
# Codes that mean "not now": throttling, a concurrent write on the same conversation, the service itself.
TRANSIENT_CODES = frozenset({
    "BadGateway", "GatewayTimeout", "InternalServerError", "PreconditionFailed", "ServiceError",
    "ServiceUnavailable", "Throttled", "TooManyRequests",
})
# 401 means the Connector refused our own credentials (a wrong secret, an expired token): nothing about the
# message is wrong, so it is retried until an operator fixes the configuration.
TRANSIENT_STATUS = RETRYABLE_STATUS | {401}
def is_transient(status: int | None, code: str = "") -> bool:
    """Whether a Connector answer (None: no answer at all) is worth trying again later; the error code wins."""
    if code in PERMANENT_CODES:
        return False
    if code in TRANSIENT_CODES:
        return True
    return status is None or status in TRANSIENT_STATUS


@dataclass(frozen=True)
class ConnectorFailure:
    """What went wrong talking to the Connector, read from a botbuilder or msrest exception."""

    status: int | None
    code: str
    reason: str
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        """True when a later attempt may succeed."""
        return is_transient(self.status, self.code)

    @property
    def answered(self) -> bool:
        """True when the Connector answered with a status, so the message was certainly not accepted."""
        return self.status is not None


def one_line(text: object, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


def delivery_error(what: str, failure: ConnectorFailure) -> RetryLater | DeliveryFailed:
    """The domain error for a failure: one line naming what was being sent, where, and Teams' reason."""
    said = " ".join(part for part in (str(failure.status or ""), failure.code) if part)
    if failure.transient:
        head = f"Teams answered {said}" if failure.answered else "no answer from Teams"
        return RetryLater(f"{what}: {head}, will retry ({failure.reason})", failure.retry_after)
    return DeliveryFailed(f"{what}: Teams refused it with {said} ({failure.reason})", code=failure.code or str(failure.status),
                          status=failure.status)


Classify = Callable[[BaseException], "ConnectorFailure | None"]


async def with_retries(call: Callable[[], Awaitable[T]], what: str, classify: Classify,
                       policy: RetryPolicy = SEND_POLICY) -> T:
    """Run a Connector call, retrying answered transient failures briefly; otherwise RetryLater or DeliveryFailed.

    `what` names the send and its recipient ("writing to Dora Dev"), for the one log line a failure gets;
    `classify` reads the SDK's exception (None: not a Connector failure, so a bug, raised untouched).
    """
    waited = 0.0
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except (RetryLater, DeliveryFailed):
            raise
        except Exception as error:  # noqa: BLE001 - classified below; anything else is re-raised untouched
            failure = classify(error)
            if failure is None:
                raise
            if not failure.transient or not failure.answered or attempt == policy.attempts:
                # No quick retry after a timeout or a dropped connection: Teams may have posted the message.
                raise delivery_error(what, failure) from error
            if failure.retry_after is not None and waited + failure.retry_after > policy.budget:
                raise delivery_error(what, failure) from error
            delay = policy.delay(attempt, failure.retry_after)
            if waited + delay > policy.budget:
                raise delivery_error(what, failure) from error
            log.warning("%s: Teams answered %s; retry %d in %.2fs", what, failure.status, attempt, delay)
            waited += delay
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
