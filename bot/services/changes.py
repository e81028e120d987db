"""Read-modify-write with ETags, shared by every service that changes a stored row."""

from __future__ import annotations

from typing import Awaitable, Callable, TypeVar

from ..domain.errors import ConcurrencyError, NotFound
from ..domain.versioned import Stored

T = TypeVar("T")


async def change_stored(
    get: Callable[[], Awaitable[Stored[T] | None]],
    replace: Callable[[T, str], Awaitable[str]],
    change: Callable[[T], T],
    attempts: int = 8,
) -> T:
    """Apply a change to the stored value; on a lost race read again and re-apply (never a lost update)."""
    for _ in range(attempts):
        stored = await get()
        if stored is None:
            raise NotFound("That record no longer exists.")
        updated = change(stored.value)
        if updated == stored.value:
            return updated
        try:
            await replace(updated, stored.etag)
            return updated
        except ConcurrencyError:
            continue
    raise ConcurrencyError("The record kept changing; please try again.")


STALE_CARD = "This card was out of date; here is the current state."


async def apply_click(
    get: Callable[[], Awaitable[Stored[T] | None]],
    replace: Callable[[T, str], Awaitable[str]],
    revision: int | None,
    change: Callable[[T], T],
    refusals: tuple[type[Exception], ...],
    attempts: int = 8,
) -> tuple[T, bool, str]:
    """Apply a card click if the card was current: (value now, changed?, note for the clicker).

    A write that loses a race reads again: when someone else changed what the card shows (its revision),
    the card is outdated and the current state wins; bookkeeping writes keep the revision and are retried.
    """
    for _ in range(attempts):
        stored = await get()
        if stored is None:
            raise NotFound("I can't find that any more.")
        current = stored.value
        if revision is not None and revision != current.revision:
            return current, False, STALE_CARD
        try:
            updated = change(current)
        except refusals as err:
            return current, False, str(err)
        if updated == current:
            return current, False, ""
        try:
            await replace(updated, stored.etag)
        except ConcurrencyError:
            continue
        return updated, True, ""
    raise ConcurrencyError("It kept changing; please try again.")
