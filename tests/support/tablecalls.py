"""Count Table Storage round trips and the entities they return, at the HTTP layer of the real SDK client."""

from __future__ import annotations

import json
from dataclasses import dataclass

from azure.data.tables.aio import TableServiceClient

from bot.storage.tables import _CLIENT_OPTIONS, TableStore


@dataclass
class TableCalls:
    """What the SDK sent and got back since the last reset."""

    round_trips: int = 0
    rows_read: int = 0

    def hook(self, response) -> None:
        """azure-core's raw_response_hook: one call per HTTP response."""
        self.round_trips += 1
        http = response.http_response
        if http.request.method == "GET" and http.status_code == 200:
            try:
                body = json.loads(http.body() or b"{}")
            except ValueError:
                return
            self.rows_read += len(body["value"]) if "value" in body else 1

    def reset(self) -> None:
        """Start counting from zero."""
        self.round_trips = self.rows_read = 0


def counting_store(connection_string: str, prefix: str) -> tuple[TableStore, TableCalls]:
    """A TableStore like the bot's, whose every round trip is counted."""
    calls = TableCalls()
    service = TableServiceClient.from_connection_string(connection_string, raw_response_hook=calls.hook, **_CLIENT_OPTIONS)
    return TableStore(service, prefix), calls
