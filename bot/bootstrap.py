"""The one place that wires settings, storage, services and the Teams layer together."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from aiohttp import web

from .commands import help as _help, requests as _requests, who as _who  # noqa: F401 - importing registers handlers
from .config import ConfigError, Settings
from .domain.iteration import IterationPolicy
from .services.catalogue import CatalogueError, load_catalogue
from .services.jobs import JobRunner
from .services.requests import RequestDesk, Timings
from .storage.conversations import TableConversationRepository
from .storage.jobs import TableJobRepository
from .storage.requests import TableRequestRepository
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
    """Everything a handler may use; the desk and the job runner exist only in the running bot."""

    settings: Settings
    clock: Clock
    policy: IterationPolicy
    store: TableStore
    members: TableMemberRepository
    weeks: TableWeekRepository
    conversations: TableConversationRepository
    requests: TableRequestRepository
    jobs: JobRunner
    desk: "RequestDesk | None" = None


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
        requests=TableRequestRepository(store),
        jobs=JobRunner(TableJobRepository(store), clock, settings.job_poll_seconds),
    )


def _tickets(settings: Settings):
    if not settings.jira_base_url:
        return None
    from .integrations.jira import JiraClient, JiraConfig

    return JiraClient(JiraConfig(settings.jira_base_url, settings.jira_email, settings.jira_api_token))


def build_app(settings: Settings, clock: Clock = system_clock) -> web.Application:
    """The aiohttp application: /api/messages and /healthz, tables created and the job runner started at start-up."""
    from .teams.auth import build_adapter
    from .teams.bot import SupportBot
    from .teams.http import messages_handler, on_turn_error
    from .teams.pacing import ConversationPacer
    from .teams.proactive import TeamsMessenger

    try:
        catalogue = load_catalogue(settings.support_config, settings.tz)
    except CatalogueError as err:
        raise ConfigError("SUPPORT_CONFIG", "; ".join(err.problems)) from None
    services = build_services(settings, clock)
    adapter = build_adapter(settings)
    adapter.on_turn_error = on_turn_error
    pacer = ConversationPacer()
    tickets = _tickets(settings)
    services.desk = RequestDesk(
        requests=services.requests, members=services.members, weeks=services.weeks, jobs=services.jobs,
        messenger=TeamsMessenger(adapter, settings, services.conversations, pacer), catalogue=catalogue,
        policy=services.policy, tz=settings.tz, clock=clock,
        timings=Timings(settings.first_response_target_seconds, settings.lead_escalation_seconds),
        tickets=tickets, ticket_retry_seconds=settings.ticket_retry_seconds,
    )
    bot = SupportBot(services, pacer)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app["services"] = services

    async def healthz(_: web.Request) -> web.Response:
        ok = await services.store.ping()
        return web.json_response({"status": "ok" if ok else "table storage unreachable"}, status=200 if ok else 503)

    async def startup(_: web.Application) -> None:
        await services.store.ensure_tables()
        log.info("tables ready with prefix %r", settings.table_prefix)
        app["job_loop"] = asyncio.create_task(services.jobs.run_forever())

    async def cleanup(_: web.Application) -> None:
        await services.jobs.stop()
        if "job_loop" in app:
            # A job stuck on a slow outside call keeps its lease and runs again elsewhere; don't wait for it.
            try:
                await asyncio.wait_for(app["job_loop"], 5)
            except asyncio.TimeoutError:
                log.warning("the job runner did not stop in time; its current job will run again after its lease")
        if tickets is not None:
            await tickets.close()
        await services.store.close()

    app.router.add_post("/api/messages", messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
