"""The one place that wires settings, storage, services and the Teams layer together."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Callable

from aiohttp import web

from .commands import (  # noqa: F401 - importing registers the commands and card verbs
    alerts as _alerts,
    channels as _channels,
    handbook as _handbook,
    help as _help,
    jobs as _jobs,
    requests as _requests,
    rotation as _rotation,
    stats as _stats,
    who as _who,
)
from .config import ConfigError, Settings
from .logs import bound
from .domain.errors import DomainError
from .domain.iteration import IterationPolicy
from .domain.jobs import JobPolicy
from .domain.requests import Address
from .integrations.bugsnag import MAX_WEBHOOK_BYTES, webhook_handler
from .services.calendar_feed import load_feed
from .services.catalogue import Catalogue, CatalogueError, load_catalogue
from .services.channels import RequestChannels
from .services.support import SupportLookup
from .services.outbox import Outbox
from .storage.swaps import TableSwapRepository
from .commands.router import router
from .core.app import SupportApp
from .commands.actions import actions
from .services.alerts import AlertDesk, AlertSettings
from .services.handbook import Handbook
from .services.jobs import JobRunner
from .services.people import People
from .services.rotation import RotationDesk
from .services.requests import RequestDesk, Timings
from .storage.absences import TableAbsenceRepository
from .storage.alerts import TableAlertRepository
from .storage.audit import TableAuditLog
from .storage.proposals import TableProposalRepository
from .storage.conversations import TableConversationRepository
from .storage.handbook import TableHandbookRepository
from .storage.jobs import TableJobRepository
from .storage.requests import TableRequestRepository
from .storage.members import TableMemberRepository
from .storage.tables import TableStore
from .storage.weeks import TableWeekRepository
from .web.calendar import FEED_PATH, feed_handler

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
    absences: TableAbsenceRepository
    audit: TableAuditLog
    alerts: TableAlertRepository
    handbook: Handbook
    swaps: TableSwapRepository
    lookup: SupportLookup
    request_channels: RequestChannels
    outbox: "Outbox | None" = None
    desk: "RequestDesk | None" = None
    alert_desk: "AlertDesk | None" = None
    rotation: "RotationDesk | None" = None
    directory: "DirectorySync | None" = None
    people: "People | None" = None


def open_store(settings: Settings) -> TableStore:
    """The Table Storage account from settings."""
    if settings.tables_connection_string:
        return TableStore.from_connection_string(settings.tables_connection_string, settings.table_prefix)
    return TableStore.from_endpoint(settings.tables_endpoint, settings.table_prefix)


def build_services(settings: Settings, clock: Clock = system_clock, catalogue: Catalogue | None = None) -> Services:
    """Repositories and policies over one Table Storage connection."""
    store = open_store(settings)
    catalogue = catalogue or Catalogue()
    members, weeks, absences = TableMemberRepository(store), TableWeekRepository(store), TableAbsenceRepository(store)
    conversations = TableConversationRepository(store)
    policy = IterationPolicy()
    return Services(
        settings=settings,
        clock=clock,
        policy=policy,
        store=store,
        members=members,
        weeks=weeks,
        conversations=conversations,
        requests=TableRequestRepository(store),
        handbook=Handbook(TableHandbookRepository(store), clock),
        jobs=JobRunner(TableJobRepository(store), clock, settings.job_poll_seconds,
                       JobPolicy(give_up_seconds=settings.job_give_up_seconds)),
        absences=absences,
        audit=TableAuditLog(store),
        alerts=TableAlertRepository(store),
        swaps=TableSwapRepository(store),
        lookup=SupportLookup(members=members, weeks=weeks, absences=absences, calendar=catalogue.calendar,
                             policy=policy, tz=settings.tz, clock=clock),
        request_channels=RequestChannels(conversations, members, catalogue.request_channels),
    )


def _tickets(settings: Settings):
    if not settings.jira_base_url:
        return None
    from .integrations.jira import JiraClient, JiraConfig

    return JiraClient(JiraConfig(settings.jira_base_url, settings.jira_email, settings.jira_api_token))


async def _keep_cycle(rotation: RotationDesk, every_seconds: float = 600) -> None:
    """Keep the weekly cycle's jobs enqueued; each instance does it, the job ids make it idempotent."""
    while True:
        try:
            await rotation.ensure_cycle()
        except DomainError as err:
            log.warning("could not schedule the weekly cycle: %s", err)
        await asyncio.sleep(every_seconds)


async def _parked_jobs(services: Services, timeout: float = 3.0) -> int | None:
    """How many jobs are parked; None when Table Storage did not answer in time."""
    try:
        async with asyncio.timeout(timeout):
            return await services.jobs.parked_count()
    except (DomainError, asyncio.TimeoutError) as err:
        log.warning("could not count parked jobs: %s", err)
        return None


@web.middleware
async def request_ids(request: web.Request, handler):
    """Every log line of a request carries its id (the caller's x-request-id, else a new one), echoed back."""
    request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
    # The webhook URL carries the Bugsnag secret; it must never reach a log line.
    path = "/api/bugsnag/***" if request.path.startswith("/api/bugsnag/") else request.path
    with bound(request_id=request_id, path=path):
        response = await handler(request)
    response.headers["x-request-id"] = request_id
    return response


def _directory(settings: Settings, services: Services, clock: Clock) -> "DirectorySync | None":
    """Microsoft Graph for the roster sync and Outlook absences, when TEAM_GROUP_ID is set."""
    if not settings.team_group_id:
        return None
    from .integrations.graph import GraphClient, GraphConfig
    from .services.directory import DirectorySync

    graph = GraphClient(GraphConfig(
        tenant_id=settings.graph_tenant_id, client_id=settings.graph_client_id,
        client_secret=settings.graph_client_secret or None,
        managed_identity_client_id=settings.graph_managed_identity_client_id or None,
    ))
    return DirectorySync(graph, services.members, services.absences, settings.team_group_id, settings.tz, clock)


def _alert_settings(settings: Settings) -> AlertSettings:
    channel = None
    if settings.alerts_channel_id:
        channel = Address(settings.teams_service_url, settings.alerts_channel_id, settings.bot_tenant_id, settings.alerts_channel_id)
    return AlertSettings(settings.alert_escalation_seconds, channel, settings.ticket_retry_seconds)


def build_core(settings: Settings, services: Services, catalogue: Catalogue, messenger, clock: Clock = system_clock,
               tickets=None, directory=None) -> SupportApp:
    """The desks over the repositories and a messenger, and the app that routes to them (no Teams SDK here)."""
    services.outbox = Outbox(services.jobs, messenger, clock)
    services.desk = RequestDesk(
        requests=services.requests, lookup=services.lookup, jobs=services.jobs,
        messenger=messenger, catalogue=catalogue, tz=settings.tz, clock=clock,
        timings=Timings(settings.first_response_target_seconds, settings.lead_escalation_seconds),
        tickets=tickets, ticket_retry_seconds=settings.ticket_retry_seconds, handbook=services.handbook,
    )
    services.alert_desk = AlertDesk(
        alerts=services.alerts, conversations=services.conversations, members=services.members,
        lookup=services.lookup, jobs=services.jobs, messenger=messenger, catalogue=catalogue,
        tz=settings.tz, clock=clock, settings=_alert_settings(settings), tickets=tickets,
    )
    services.directory = directory
    services.rotation = RotationDesk(
        members=services.members, weeks=services.weeks, absences=services.absences,
        proposals=TableProposalRepository(services.store), audit=services.audit, conversations=services.conversations,
        jobs=services.jobs, messenger=messenger, catalogue=catalogue, policy=services.policy, tz=settings.tz,
        clock=clock, lookup=services.lookup, requests=services.requests, alerts=services.alerts,
        before_pick=directory.before_pick if directory else None,
        target_seconds=settings.first_response_target_seconds,
    )
    services.people = People(
        members=services.members, weeks=services.weeks, absences=services.absences, audit=services.audit,
        messenger=messenger, calendar=catalogue.calendar, policy=services.policy, tz=settings.tz, clock=clock,
        swaps=services.swaps,
    )
    return SupportApp(services, router, actions, clock)


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
    services = build_services(settings, clock, catalogue)
    adapter = build_adapter(settings)
    adapter.on_turn_error = on_turn_error
    pacer = ConversationPacer()
    tickets = _tickets(settings)
    messenger = TeamsMessenger(adapter, settings, services.conversations, pacer)
    directory = _directory(settings, services, clock)
    core = build_core(settings, services, catalogue, messenger, clock, tickets, directory)
    bot = SupportBot(services, pacer, core)
    # Bugsnag payloads with long stack traces can be large; /api/messages enforces its own smaller limit.
    app = web.Application(client_max_size=max(settings.max_body_bytes, MAX_WEBHOOK_BYTES), middlewares=[request_ids])
    app["services"] = services

    async def healthz(_: web.Request) -> web.Response:
        parked = await _parked_jobs(services) if await services.store.ping() else None
        if parked is None:
            return web.json_response({"status": "table storage unreachable"}, status=503)
        return web.json_response({"status": "ok", "parked_jobs": parked})

    async def startup(_: web.Application) -> None:
        # botbuilder's connector client sends through `requests` in the default executor; with the asyncio
        # default of min(32, cpus + 4) threads, background paging would queue acknowledgements behind it.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="send"))
        await services.store.ensure_tables()
        # The holidays table of a year is built on first use (~200 ms); do it now, not in a user's request.
        catalogue.calendar.is_working_day(clock().astimezone(settings.tz).date())
        log.info("tables ready with prefix %r", settings.table_prefix)
        app["job_loop"] = asyncio.create_task(services.jobs.run_forever())
        app["cycle_loop"] = asyncio.create_task(_keep_cycle(services.rotation))

    async def cleanup(_: web.Application) -> None:
        if "cycle_loop" in app:
            app["cycle_loop"].cancel()
        await services.jobs.stop()
        if "job_loop" in app:
            # A job stuck on a slow outside call keeps its lease and runs again elsewhere; don't wait for it.
            try:
                await asyncio.wait_for(app["job_loop"], 5)
            except asyncio.TimeoutError:
                log.warning("the job runner did not stop in time; its current job will run again after its lease")
        if tickets is not None:
            await tickets.close()
        if services.directory is not None:
            await services.directory.graph.close()
        await services.store.close()

    app.router.add_post("/api/messages", messages_handler(settings, adapter, bot))
    app.router.add_get("/healthz", healthz)
    app.router.add_get(FEED_PATH, feed_handler(settings.calendar_feed_token, partial(
        load_feed, services.weeks, services.members, services.absences, catalogue.calendar, clock)))
    app.router.add_post(
        "/api/bugsnag/{secret}",
        webhook_handler(settings.bugsnag_webhook_secret, settings.bugsnag_project_ids, services.alert_desk.accept),
    )
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
