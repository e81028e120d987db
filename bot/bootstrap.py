"""The one place that wires settings, storage, services and the Teams layer together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from aiohttp import web

from .commands import help as _help, who as _who  # noqa: F401 - importing registers the commands
from .config import Settings
from .domain.iteration import IterationPolicy
from .storage.conversations import TableConversationRepository
from .storage.members import TableMemberRepository
from .storage.tables import TableStore
from .storage.weeks import TableWeekRepository

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """Everything a handler may use."""

    settings: Settings
    clock: Clock
    policy: IterationPolicy
    store: TableStore
    members: TableMemberRepository
    weeks: TableWeekRepository
    conversations: TableConversationRepository


def open_store(settings: Settings) -> TableStore:
    """The Table Storage account from settings."""
    if settings.tables_connection_string:
        return TableStore.from_connection_string(settings.tables_connection_string, settings.table_prefix)
    return TableStore.from_endpoint(settings.tables_endpoint, settings.table_prefix)


def build_services(settings: Settings, clock: Clock = system_clock) -> Services:
    """Repositories and policies over one Table Storage connection."""
    store = open_store(settings)
    return Services(
        settings=settings,
        clock=clock,
        policy=IterationPolicy(),
        store=store,
        members=TableMemberRepository(store),
        weeks=TableWeekRepository(store),
        conversations=TableConversationRepository(store),
    )


def build_app(settings: Settings, clock: Clock = system_clock) -> web.Application:
    """The aiohttp application: /api/messages and /healthz, with tables created at start-up."""
    from .teams.auth import build_adapter
    from .teams.bot import SupportBot
    from .teams.http import messages_handler, on_turn_error

    services = build_services(settings, clock)
    adapter = build_adapter(settings)
    adapter.on_turn_error = on_turn_error
    bot = SupportBot(services)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app["services"] = services

    async def healthz(_: web.Request) -> web.Response:
        ok = await services.store.ping()
        return web.json_response({"status": "ok" if ok else "table storage unreachable"}, status=200 if ok else 503)

    async def startup(_: web.Application) -> None:
        await services.store.ensure_tables()
        log.info("tables ready with prefix %r", settings.table_prefix)

    async def cleanup(_: web.Application) -> None:
        await services.store.close()

    app.router.add_post("/api/messages", messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
