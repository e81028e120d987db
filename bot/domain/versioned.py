"""A value as read from storage, with the version a conditional write must match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Stored(Generic[T]):
    """A value read from storage, with the ETag that a later conditional write must match."""

    value: T
    etag: str
