"""Sends to the Bot Connector with retries on throttling and transient errors."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, TypeVar

from botbuilder.schema import ErrorResponseException

from ..domain.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)
T = TypeVar("T")
SEND_POLICY = RetryPolicy()


def _status_and_retry_after(error: ErrorResponseException) -> tuple[int | None, float | None]:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    headers = getattr(response, "headers", None) or {}
    return status, parse_retry_after(headers.get("Retry-After"))


async def with_retries(call: Callable[[], Awaitable[T]], what: str, policy: RetryPolicy = SEND_POLICY) -> T:
    """Run a connector call; on 429/412/5xx wait (Retry-After or backoff) and try again within the policy."""
    waited = 0.0
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except ErrorResponseException as error:
            status, retry_after = _status_and_retry_after(error)
            delay = policy.delay(attempt, retry_after)
            if status not in RETRYABLE_STATUS or attempt == policy.attempts or waited + delay > policy.budget:
                raise
            log.warning("%s answered %s; retry %d in %.2fs", what, status, attempt, delay)
            waited += delay
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
