"""How botbuilder's and msrest's exceptions read as Connector failures (the rules are in bot/web/connector.py)."""

from __future__ import annotations

from typing import Awaitable, Callable, TypeVar

import requests
import urllib3
from botbuilder.schema import ErrorResponseException
from msrest.exceptions import ClientRequestError

from ..domain.retry import parse_retry_after
from ..web import connector
from ..web.connector import ConnectorFailure, one_line

T = TypeVar("T")


# Requests that never reached a Connector that could refuse them for good.
_BROKEN_ADDRESS = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)


def _timed_out(error: BaseException | None) -> bool:
    """True when a requests/urllib3 error was, at its root, a timeout (they wrap each other several levels deep)."""
    for _ in range(6):
        if error is None or isinstance(error, urllib3.exceptions.NewConnectionError):
            return False  # urllib3 makes a refused connection a kind of ConnectTimeoutError
        if isinstance(error, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            return True
        reason = getattr(error, "reason", None)
        error = reason if isinstance(reason, BaseException) else next(
            (arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException)), None)
    return False


def failure_of(error: BaseException) -> ConnectorFailure | None:
    """The Connector failure behind an exception; None when it is not one (then it is a bug, not Teams)."""
    if isinstance(error, ErrorResponseException):
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None) or getattr(response, "status", None)
        inner = getattr(getattr(error, "error", None), "error", None)
        code = getattr(inner, "code", None)
        code = code if isinstance(code, str) else ""
        message = getattr(inner, "message", None) or getattr(response, "reason", "") or ""
        headers = getattr(response, "headers", None) or {}
        return ConnectorFailure(status, code, one_line(message), parse_retry_after(headers.get("Retry-After")))
    if isinstance(error, ClientRequestError):
        error = getattr(error, "inner_exception", None) or error
    if isinstance(error, _BROKEN_ADDRESS):
        return ConnectorFailure(400, "InvalidServiceUrl", one_line(error))
    if _timed_out(error):
        return ConnectorFailure(None, "Timeout", "Teams did not answer in time")
    if isinstance(error, (ClientRequestError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
                          ConnectionError)):
        return ConnectorFailure(None, "ConnectionError", "Teams could not be reached or dropped the connection")
    return None




async def with_retries(call: Callable[[], Awaitable[T]], what: str) -> T:
    """A Connector call through botbuilder, with the shared retry and failure rules."""
    return await connector.with_retries(call, what, failure_of)
