"""The one place that wires settings, storage, services, the core and a Teams adapter together."""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Callable

from aiohttp import web

from cards.render import render

from .commands.alerts import AlertClicks
from .commands.channels import ChannelChoices
from .commands.handbook import HandbookSearch
from .commands.help import Help
from .commands.jobs import ParkedJobs
from .commands.requests import TriageClicks
from .commands.rotation import RotationChanges
from .commands.stats import Stats
from .commands.team import TeamQueries
from .commands.who import Who
from .config import ConfigError, Settings
from .core.app import SupportApp
from .domain.catalogue import Catalogue
from .domain.errors import DomainError
from .domain.iteration import IterationPolicy
from .domain.jobs import JobPolicy
from .integrations.bugsnag import MAX_WEBHOOK_BYTES, webhook_handler
from .logs import bound
from .memory import release_freed_memory
from .services.alerts import AlertDesk, AlertSettings
from .services.calendar_feed import load_feed
from .services.catalogue import CatalogueError, load_catalogue
from .services.channels import RequestChannels
from .services.handbook import Handbook
from .services.jobs import JobRunner
from .services.outbox import Outbox
from .services.people import People
from .services.requests import RequestDesk, Timings
from .services.rotation import RotationDesk
from .services.support import SupportLookup
from .storage.absences import TableAbsenceRepository
from .storage.alerts import TableAlertRepository
from .storage.audit import TableAuditLog
from .storage.conversations import TableConversationRepository
from .storage.handbook import TableHandbookRepository
from .storage.jobs import TableJobRepository
from .storage.members import TableMemberRepository
from .storage.proposals import TableProposalRepository
from .storage.requests import TableRequestRepository
from .storage.swaps import TableSwapRepository
from .storage.tables import TableStore
from .storage.weeks import TableWeekRepository
from .web.calendar import FEED_PATH, feed_handler
from .web.references import address as channel_address

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """The repositories and lookups over one Table Storage account (also what the command-line tools use)."""

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


def open_store(settings: Settings) -> TableStore:
    """The Table Storage account from settings."""
    if settings.tables_connection_string:
        return TableStore.from_connection_string(settings.tables_connection_string, settings.table_prefix)
    return TableStore.from_endpoint(settings.tables_endpoint, settings.table_prefix)


def build_services(settings: Settings, clock: Clock = system_clock, catalogue: Catalogue | None = None) -> Services:
    """Repositories and policies over one Table Storage connection."""
    store = open_store(settings)
    catalogue = catalogue or Catalogue()
    policy = IterationPolicy()
    lookup = SupportLookup(members=TableMemberRepository(store), weeks=TableWeekRepository(store),
                           absences=TableAbsenceRepository(store), calendar=catalogue.calendar, policy=policy,
                           tz=settings.tz, clock=clock)
    # Every writer goes through these, so the lookup's cached "who is on duty" is cleared by any change.
    members = lookup.watch(TableMemberRepository(store))
    weeks = lookup.watch(TableWeekRepository(store))
    absences = lookup.watch(TableAbsenceRepository(store))
    conversations = TableConversationRepository(store)
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
        lookup=lookup,
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


def _directory(settings: Settings, services: Services, clock: Clock):
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
        channel = channel_address(settings.teams_service_url, settings.alerts_channel_id, settings.bot_tenant_id, "channel")
    return AlertSettings(settings.alert_escalation_seconds, channel, settings.ticket_retry_seconds)


@dataclass
class Core:
    """The running bot's use cases and the app that routes to them."""

    app: SupportApp
    desk: RequestDesk
    alert_desk: AlertDesk
    rotation: RotationDesk
    people: People
    outbox: Outbox


def build_core(settings: Settings, services: Services, catalogue: Catalogue, messenger, clock: Clock = system_clock,
               tickets=None, directory=None) -> Core:
    """The desks over the repositories and a messenger, and the app with every handler registered explicitly."""
    outbox = Outbox(services.jobs, messenger, clock, render)
    desk = RequestDesk(
        requests=services.requests, lookup=services.lookup, jobs=services.jobs,
        messenger=messenger, catalogue=catalogue, tz=settings.tz, clock=clock,
        timings=Timings(settings.first_response_target_seconds, settings.lead_escalation_seconds),
        tickets=tickets, ticket_retry_seconds=settings.ticket_retry_seconds, handbook=services.handbook,
    )
    alert_desk = AlertDesk(
        alerts=services.alerts, conversations=services.conversations, members=services.members,
        lookup=services.lookup, jobs=services.jobs, messenger=messenger, catalogue=catalogue,
        tz=settings.tz, clock=clock, settings=_alert_settings(settings), tickets=tickets,
    )
    rotation = RotationDesk(
        members=services.members, weeks=services.weeks, absences=services.absences,
        proposals=TableProposalRepository(services.store), audit=services.audit, conversations=services.conversations,
        jobs=services.jobs, messenger=messenger, catalogue=catalogue, policy=services.policy, tz=settings.tz,
        clock=clock, lookup=services.lookup, requests=services.requests, alerts=services.alerts,
        before_pick=directory.before_pick if directory else None,
        target_seconds=settings.first_response_target_seconds,
    )
    people = People(
        members=services.members, weeks=services.weeks, absences=services.absences, audit=services.audit,
        messenger=messenger, calendar=catalogue.calendar, policy=services.policy, tz=settings.tz, clock=clock,
        swaps=services.swaps,
    )
    app = SupportApp(desk=desk, request_channels=services.request_channels, outbox=outbox,
                     conversations=services.conversations, clock=clock)
    commands, actions = app.commands, app.actions
    # Registered here, in the order `help` lists them; each handler gets the dependencies it uses.
    Who(services.lookup).register(commands, actions)
    Help(commands).register()
    TeamQueries(members=services.members, weeks=services.weeks, absences=services.absences, audit=services.audit,
                policy=services.policy, tz=settings.tz).register(commands)
    RotationChanges(rotation=rotation, people=people, members=services.members, directory=directory,
                    tz=settings.tz).register(commands, actions)
    Stats(requests=services.requests, alerts=services.alerts, policy=services.policy, tz=settings.tz,
          target_seconds=settings.first_response_target_seconds).register(commands)
    HandbookSearch(services.handbook).register(commands)
    ParkedJobs(services.jobs, services.members, settings.tz).register(commands, actions)
    ChannelChoices(alert_desk, rotation, services.request_channels).register(commands)
    TriageClicks(desk).register(actions)
    AlertClicks(alert_desk).register(actions)
    return Core(app, desk, alert_desk, rotation, people, outbox)


def teams_adapter(settings: Settings):
    """The Teams adapter TEAMS_SDK chooses: botbuilder (bot/teams, the default) or the Agents SDK (bot/agents)."""
    return importlib.import_module("bot.agents" if settings.teams_sdk == "agents" else "bot.teams")


def build_app(settings: Settings, clock: Clock = system_clock) -> web.Application:
    """The aiohttp application: /api/messages and /healthz, tables created and the job runner started at start-up."""
    try:
        catalogue = load_catalogue(settings.support_config, settings.tz)
    except CatalogueError as err:
        raise ConfigError("SUPPORT_CONFIG", "; ".join(err.problems)) from None
    services = build_services(settings, clock, catalogue)
    edge = teams_adapter(settings).build(settings, services.conversations, clock)
    tickets = _tickets(settings)
    directory = _directory(settings, services, clock)
    core = build_core(settings, services, catalogue, edge.messenger, clock, tickets, directory)
    # Bugsnag payloads with long stack traces can be large; /api/messages enforces its own smaller limit.
    app = web.Application(client_max_size=max(settings.max_body_bytes, MAX_WEBHOOK_BYTES), middlewares=[request_ids])
    app["services"] = services

    async def healthz(_: web.Request) -> web.Response:
        parked = await _parked_jobs(services) if await services.store.ping() else None
        if parked is None:
            return web.json_response({"status": "table storage unreachable"}, status=503)
        return web.json_response({"status": "ok", "parked_jobs": parked})

    async def close_clients() -> None:
        """Close every outside client: Jira, Graph, the Teams adapter's sessions, Table Storage."""
        if tickets is not None:
            await tickets.close()
        if directory is not None:
            await directory.graph.close()
        await edge.cleanup()
        await services.store.close()

    async def startup(_: web.Application) -> None:
        try:
            await edge.startup()
            await services.store.ensure_tables()
        except BaseException:
            # aiohttp runs no cleanup when start-up fails (the process exits with 3): close the clients here.
            await close_clients()
            raise
        # The holidays table of a year is built on first use (~200 ms); do it now, not in a user's request.
        catalogue.calendar.is_working_day(clock().astimezone(settings.tz).date())
        log.info("tables ready with prefix %r; Teams adapter: %s", settings.table_prefix, settings.teams_sdk)
        app["job_loop"] = asyncio.create_task(services.jobs.run_forever())
        app["cycle_loop"] = asyncio.create_task(_keep_cycle(core.rotation))
        app["memory_loop"] = asyncio.create_task(release_freed_memory())

    async def cleanup(_: web.Application) -> None:
        for loop in ("cycle_loop", "memory_loop"):
            if loop in app:
                app[loop].cancel()
        await services.jobs.stop()
        if "job_loop" in app:
            # A job stuck on a slow outside call keeps its lease and runs again elsewhere; don't wait for it.
            try:
                await asyncio.wait_for(app["job_loop"], 5)
            except asyncio.TimeoutError:
                log.warning("the job runner did not stop in time; its current job will run again after its lease")
        await close_clients()

    app.router.add_post("/api/messages", edge.messages_handler(core.app))
    app.router.add_get("/healthz", healthz)
    app.router.add_get(FEED_PATH, feed_handler(settings.calendar_feed_token, partial(
        load_feed, services.weeks, services.members, services.absences, catalogue.calendar, clock)))
    app.router.add_post(
        "/api/bugsnag/{secret}",
        webhook_handler(settings.bugsnag_webhook_secret, settings.bugsnag_project_ids, core.alert_desk.accept),
    )
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
