"""The one place that wires settings, storage, services and the Teams layer together."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from aiohttp import web

from .commands import alerts as _alerts, help as _help, requests as _requests, who as _who  # noqa: F401 - registers handlers
from .config import ConfigError, Settings
from .domain.iteration import IterationPolicy
from .domain.requests import Address
from .integrations.bugsnag import MAX_WEBHOOK_BYTES, webhook_handler
from .services.catalogue import CatalogueError, load_catalogue
from .services.alerts import AlertDesk, AlertSettings
from .services.jobs import JobRunner
from .services.requests import RequestDesk, Timings
from .storage.alerts import TableAlertRepository
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
    alert_desk: "AlertDesk | None" = None


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


def _alert_settings(settings: Settings) -> AlertSettings:
    channel = None
    if settings.alerts_channel_id:
        channel = Address(settings.teams_service_url, settings.alerts_channel_id, settings.bot_tenant_id, settings.alerts_channel_id)
    return AlertSettings(settings.alert_escalation_seconds, channel, settings.ticket_retry_seconds)


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
    messenger = TeamsMessenger(adapter, settings, services.conversations, pacer)
    services.desk = RequestDesk(
        requests=services.requests, members=services.members, weeks=services.weeks, jobs=services.jobs,
        messenger=messenger, catalogue=catalogue,
        policy=services.policy, tz=settings.tz, clock=clock,
        timings=Timings(settings.first_response_target_seconds, settings.lead_escalation_seconds),
        tickets=tickets, ticket_retry_seconds=settings.ticket_retry_seconds,
    )
    services.alert_desk = AlertDesk(
        alerts=TableAlertRepository(services.store), conversations=services.conversations, members=services.members,
        weeks=services.weeks, jobs=services.jobs, messenger=messenger, catalogue=catalogue, policy=services.policy,
        tz=settings.tz, clock=clock, settings=_alert_settings(settings), tickets=tickets,
    )
    bot = SupportBot(services, pacer)
    # Bugsnag payloads with long stack traces can be large; /api/messages enforces its own smaller limit.
    app = web.Application(client_max_size=max(settings.max_body_bytes, MAX_WEBHOOK_BYTES))
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
    app.router.add_post(
        "/api/bugsnag/{secret}",
        webhook_handler(settings.bugsnag_webhook_secret, settings.bugsnag_project_ids, services.alert_desk.accept),
    )
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
