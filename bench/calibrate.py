"""What the counting proxy costs per Table round trip: the same point read, direct and through the proxy."""

from __future__ import annotations

import time

from azure.data.tables.aio import TableClient

from bench.stats import percentile
from tests.support.processes import connection_string

CALIBRATION_TABLE = "benchcalibration"


async def _timed_read(client: TableClient) -> float:
    start = time.perf_counter()
    await client.get_entity("p", "r")
    return time.perf_counter() - start


async def proxy_overhead(azurite_port: int, proxy_port: int, reads: int) -> dict[str, float | int | None]:
    """p50 and p99 of a point read, direct and proxied, alternating so drift hits both alike; in ms."""
    direct = TableClient.from_connection_string(connection_string(azurite_port), CALIBRATION_TABLE)
    proxied = TableClient.from_connection_string(connection_string(proxy_port), CALIBRATION_TABLE)
    async with direct, proxied:
        await direct.create_table()
        await direct.upsert_entity({"PartitionKey": "p", "RowKey": "r", "value": 1})
        for _ in range(5):
            await _timed_read(direct), await _timed_read(proxied)
        times: dict[str, list[float]] = {"direct": [], "proxied": []}
        for _ in range(reads):
            times["direct"].append(await _timed_read(direct))
            times["proxied"].append(await _timed_read(proxied))
        await direct.delete_table()
    p50 = {k: percentile(v, 50) * 1000 for k, v in times.items()}
    p99 = {k: percentile(v, 99) * 1000 for k, v in times.items()}
    return {
        "reads": reads,
        "direct_p50": round(p50["direct"], 3),
        "proxied_p50": round(p50["proxied"], 3),
        "added_p50": round(p50["proxied"] - p50["direct"], 3),
        "direct_p99": round(p99["direct"], 3),
        "proxied_p99": round(p99["proxied"], 3),
    }
