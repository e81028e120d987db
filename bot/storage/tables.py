"""The Table Storage connection: clients, table names, key escaping and error translation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator
from urllib.parse import quote, unquote

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables.aio import TableClient, TableServiceClient

from ..domain.errors import AlreadyExists, ConcurrencyError, NotFound, StorageUnavailable

log = logging.getLogger(__name__)

# Retries are short on purpose: a person is waiting for an answer in chat, and
# the callers already report StorageUnavailable clearly instead of hanging.
_CLIENT_OPTIONS = {"retry_total": 2, "retry_backoff_factor": 0.2, "connection_timeout": 3, "read_timeout": 10}


def key(text: str) -> str:
    """Escape a value for use as PartitionKey or RowKey (no / \\ # ? or control characters)."""
    return quote(text, safe=" :@;.-_=+!$&'()*,~")


def unkey(text: str) -> str:
    """Undo key()."""
    return unquote(text)


@contextlib.contextmanager
def translated(what: str):
    """Turn Azure SDK errors into domain errors that say what failed."""
    try:
        yield
    except ResourceModifiedError as err:
        raise ConcurrencyError(f"{what}: someone else changed it first; please try again") from err
    except ResourceExistsError as err:
        raise AlreadyExists(f"{what}: it exists already") from err
    except ResourceNotFoundError as err:
        raise NotFound(f"{what}: not found") from err
    except (AzureError, OSError, asyncio.TimeoutError) as err:
        raise StorageUnavailable(f"{what}: Table Storage did not answer ({type(err).__name__})") from err


class TableStore:
    """One Table Storage account, shared by all repositories; table names carry the prefix."""

    TABLES = ("Members", "Weeks", "Conversations", "Requests", "Jobs", "Alerts", "Absences", "Audit", "Proposals", "Handbook", "Swaps")

    def __init__(self, service: TableServiceClient, prefix: str) -> None:
        self._service = service
        self._prefix = prefix
        self._clients: dict[str, TableClient] = {}

    @classmethod
    def from_connection_string(cls, connection_string: str, prefix: str) -> "TableStore":
        """Connect with a connection string (Azurite, or an account key)."""
        return cls(TableServiceClient.from_connection_string(connection_string, **_CLIENT_OPTIONS), prefix)

    @classmethod
    def from_endpoint(cls, endpoint: str, prefix: str) -> "TableStore":
        """Connect keylessly, with managed identity or whatever DefaultAzureCredential finds."""
        from azure.identity.aio import DefaultAzureCredential

        return cls(TableServiceClient(endpoint, credential=DefaultAzureCredential(), **_CLIENT_OPTIONS), prefix)

    def name(self, table: str) -> str:
        """The full table name for a logical table."""
        return f"{self._prefix}{table}"

    def table(self, table: str) -> TableClient:
        """A cached client for one logical table."""
        if table not in self._clients:
            self._clients[table] = self._service.get_table_client(self.name(table))
        return self._clients[table]

    async def ensure_tables(self, tables: tuple[str, ...] = TABLES) -> None:
        """Create the tables that are missing."""
        for table in tables:
            with translated(f"creating table {self.name(table)}"):
                try:
                    await self._service.create_table(self.name(table))
                except ResourceExistsError:
                    pass

    async def ping(self, timeout: float = 3.0) -> bool:
        """True when the table service answers a cheap query in time."""
        try:
            async with asyncio.timeout(timeout):
                async for _ in self.table("Members").query_entities("PartitionKey eq 'none'", results_per_page=1):
                    break
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            log.warning("table storage ping failed", exc_info=True)
            return False

    async def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            await client.close()
        await self._service.close()


class EntityTable:
    """Typed conditional operations on one table; the shared base of all repositories."""

    def __init__(self, store: TableStore, table: str) -> None:
        self._client = store.table(table)
        self._name = table

    async def get(self, partition: str, row: str) -> dict | None:
        """One entity, or None."""
        with translated(f"reading {self._name}/{row}"):
            try:
                return await self._client.get_entity(key(partition), key(row))
            except ResourceNotFoundError:
                return None

    async def query(self, filter_: str | None = None, select: list[str] | None = None, **params) -> AsyncIterator[dict]:
        """All entities matching a filter (only the `select`ed properties, when given); the SDK's pager follows
        continuation tokens, empty pages included."""
        with translated(f"querying {self._name}"):
            pager = (
                self._client.query_entities(filter_, parameters=params, select=select)
                if filter_
                else self._client.list_entities(select=select)
            )
            async for entity in pager:
                yield entity

    async def create(self, entity: dict) -> str:
        """Insert a new entity; AlreadyExists when the key is taken. Returns the ETag."""
        with translated(f"creating {self._name}/{entity['RowKey']}"):
            meta = await self._client.create_entity(entity)
        return meta["etag"]

    async def create_if_missing(self, entity: dict) -> bool:
        """Insert a new entity; False when one with that key exists (for rows that are never changed)."""
        try:
            await self.create(entity)
            return True
        except AlreadyExists:
            return False

    async def delete_if_present(self, partition: str, row: str) -> None:
        """Delete an entity unconditionally; only for rows that are never changed in place."""
        with translated(f"deleting {self._name}/{row}"):
            try:
                await self._client.delete_entity(key(partition), key(row))
            except ResourceNotFoundError:
                pass

    async def replace(self, entity: dict, etag: str) -> str:
        """Replace an entity only if it is unchanged since it was read; ConcurrencyError otherwise."""
        with translated(f"updating {self._name}/{entity['RowKey']}"):
            meta = await self._client.update_entity(
                entity, mode="replace", etag=etag, match_condition=MatchConditions.IfNotModified
            )
        return meta["etag"]

    async def upsert(self, entity: dict) -> str:
        """Write an entity whatever is there; only for rows nobody reads-modifies-writes."""
        with translated(f"writing {self._name}/{entity['RowKey']}"):
            meta = await self._client.upsert_entity(entity, mode="replace")
        return meta["etag"]

    async def delete(self, partition: str, row: str, etag: str) -> None:
        """Delete an entity only if it is unchanged since it was read."""
        with translated(f"deleting {self._name}/{row}"):
            await self._client.delete_entity(
                key(partition), key(row), etag=etag, match_condition=MatchConditions.IfNotModified
            )
