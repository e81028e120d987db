"""Shared fixtures: one Azurite per test run, a fresh table prefix per test, loopback stand-ins."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

import aiohttp
import pytest
from aiohttp import web

from tests.support.connector import Connector
from tests.support.processes import Azurite, BotProcess, free_port


def teams_sdk() -> str:
    """The Teams adapter the bot processes of this run use: TEAMS_SDK from the environment (default botbuilder)."""
    return os.environ.get("TEAMS_SDK", "").strip().lower() or "botbuilder"


def pytest_report_header(config) -> str:
    """Say which Teams adapter the bot processes run on (`make test` runs tests/e2e a second time with TEAMS_SDK=agents)."""
    return f"Teams adapter of the bot processes: TEAMS_SDK={teams_sdk()}"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """The test run's own Azurite, on a free port, in memory."""
    server = Azurite().start()
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    """A table prefix no other test uses, so tests never see each other's rows."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def storage_env(azurite: Azurite, prefix: str) -> dict[str, str]:
    """The storage variables pointing at the test Azurite with this test's prefix."""
    return {"TABLES_CONNECTION_STRING": azurite.connection_string, "TABLE_PREFIX": prefix}


@pytest.fixture
async def store(storage_env: dict[str, str]):
    """A TableStore with the tables created."""
    from bot.storage.tables import TableStore

    table_store = TableStore.from_connection_string(storage_env["TABLES_CONNECTION_STRING"], storage_env["TABLE_PREFIX"])
    await table_store.ensure_tables()
    yield table_store
    await table_store.close()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve an aiohttp app on a free loopback port; the runner and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def connector() -> AsyncIterator[Connector]:
    """The Bot Connector stand-in; activities point their serviceUrl here."""
    stand_in = Connector()
    runner, url = await serve(stand_in.app())
    stand_in.url = url + "/"
    yield stand_in
    await runner.cleanup()


@pytest.fixture
async def start_bot(tmp_path: Path, storage_env: dict[str, str], connector: Connector) -> AsyncIterator[Callable[..., BotProcess]]:
    """Start `python app.py` with the test storage and extra variables, on the run's Teams adapter; stopped after the test.

    It depends on the connector so that bots stop before the connector does, and never retry into a void.
    """
    started: list[BotProcess] = []

    def start(wait: bool = True, **env: str) -> BotProcess:
        process = BotProcess({"ALLOW_UNAUTHENTICATED": "true", "TEAMS_SDK": teams_sdk(), **storage_env, **env},
                             tmp_path / f"bot{len(started)}.log")
        started.append(process)
        return process.start(wait=wait)

    yield start
    for process in started:
        # In a thread, so the loop keeps serving the stand-ins the bot may still be talking to.
        await asyncio.to_thread(process.stop)
        # Shown by pytest only when the test failed.
        print(f"--- bot log {process.log_path.name} ---\n{process.log()}")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for talking to the bot."""
    async with aiohttp.ClientSession() as session:
        yield session
