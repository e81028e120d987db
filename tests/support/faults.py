"""A fixed mix of #backend requests and Bugsnag webhooks, driven through a fault schedule, and what came of it.

Shared by tests/e2e/test_faults.py (small mixes, compact schedules) and bench/faults.py (the long run).

    plan = Plan(Mix(requests=8, webhooks=30, errors=3), faults=[...], instances=2)
    report = await FaultRun(plan, workdir).run()      # starts and stops everything itself
    print(render(report)); assert report["targets"]["nothing_lost"]["met"]

What runs: Azurite (the given one, or its own on disk when the schedule stops storage), the Connector and
Jira stand-ins in this process, and `plan.instances` bots (`python app.py`) on the same tables, configured
like the `desk` fixture plus the Bugsnag webhook and a fixed alert channel.

The driver plays Teams and Bugsnag:
- each support request is a channel @mention from Olga Ops in #backend, its own thread, sent at its time;
  each names a problem of its own, except `incidents` of them, which repeat the request before them (the bot
  groups those into that request's incident: acknowledged, but nobody is paged again); the bots take turns (round robin over the instances that are up). When a POST gets no answer, a
  connection error or a 5xx, it is delivered again (to the next instance that is up) after 1, 2, 4, 4, 4 s,
  as Teams redelivers; Teams gives up on an answer after 15 s;
- every `bugs`-th request is triaged as Bug by Dora as soon as its triage card is there (Jira);
- each webhook is one event of one of `errors` errors (firstException first, then exception, with rising
  occurrences); error k first shows up k/K of the way through. Bugsnag gives up after 4 s; the driver
  delivers a webhook again after no answer or a 5xx.

Afterwards it waits (bounded) until everything expected has arrived, nothing has moved for a while and no job
that was attempted is left (one a killed instance held runs again after its lease), then
measures from the Connector's and Jira's records, the bots' HTTP answers, /healthz, the Jobs table and the
bots' JSON logs. See `measure` for every figure and `TARGETS` for the targets.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.e2e.conftest import DORA, PAULA, OLGA, ROSTER_E2E, SUPPORT_ALWAYS, FRITZ, NICO
from . import activities
from .cards import actions_in
from .connector import Connector, Sent
from .jira import Jira
from .processes import ROOT, Azurite, BotProcess, free_port
from .schedule import Fault, FaultSchedule, StopStorage, World

SECRET = "faults-webhook-secret-0123456789abcdef"
ALERTS = "19:faults0alerts0channel@thread.tacv2"
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "bugsnag" / "first_exception.json").read_text())
PAGED = {DORA: "Dora Dev", PAULA: "Paula Pair"}  # the pair on duty: each request writes to them 1:1
GROUPED = "the same problem as"  # in the acknowledgement of a request grouped into an incident
REFUSED = "My storage is down, so I couldn't record this request"  # the notice when Table Storage is down
TEAMS_TIMEOUT = 15.0  # Teams gives a bot 10-15 s to answer an activity
BUGSNAG_TIMEOUT = 4.0  # Bugsnag gives up on a webhook after 4 s
REDELIVERY_PAUSES = (1.0, 2.0, 4.0, 4.0, 4.0)  # before the 2nd, 3rd, ... delivery of the same activity or webhook
CLICK_TRIES = 4  # a person told "please try again" by the card clicks again, a few times
LOOP_ATTEMPTS = 12  # a job attempted more often than this within one run is looping
CRASH_PAGE_TARGET = 20.0
CRASH_WINDOW = 5.0  # "just before a SIGKILL": the bot took the request at most this long before it
LEASE_SECONDS = 15.0  # the bots' job lease (bot/domain/jobs.py): work of a killed instance waits this long
STUCK_SECONDS = 20.0  # a page or an escalation later than this (after arrival, after its due time) is stuck
SLOW_ANSWER_SECONDS = 10.0  # Teams gives up on a bot's answer after 10 to 15 s
# A webhook 503 counts as "by design" (README: storage down means 503, nothing acknowledged that could be lost)
# when it was sent while Azurite was down, or this soon after it came back (the bot's storage client retries).
STORAGE_GRACE = 3.0


@dataclass(frozen=True)
class Mix:
    """What the driver sends: N requests, M webhooks for K errors, spread over `seconds`; `bugs` requests go to Jira,
    `incidents` requests repeat the problem of the request before them."""

    requests: int = 8
    webhooks: int = 30
    errors: int = 3
    seconds: float = 10.0
    bugs: int = 2
    seed: int = 7
    incidents: int = 1


@dataclass(frozen=True)
class Timings:
    """The bots' clocks, short so that every escalation happens within the run."""

    first_response: int = 3
    lead: int = 6
    alert_escalation: int = 3
    jira_retry: int = 3
    poll_ms: int = 100


@dataclass
class Plan:
    """One run: the mix, the faults, how many bot instances share the tables, and how long to wait at the end."""

    mix: Mix
    faults: list[Fault] = field(default_factory=list)
    instances: int = 1
    timings: Timings = field(default_factory=Timings)
    settle_seconds: float = 25.0
    quiet_seconds: float = 2.0
    log_level: str = "INFO"


@dataclass
class Delivery:
    """One HTTP attempt of the driver: which endpoint, which bot, and what came back."""

    at: float
    endpoint: str  # messages, invoke, bugsnag
    bot: int
    status: int | None
    error: str = ""  # refused (nothing listened), dropped (connection closed after sending), timeout
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        """The status, or what happened instead."""
        return str(self.status) if self.status is not None else self.error

    @property
    def ambiguous(self) -> bool:
        """The bot may have acted on it: it was sent, but no answer came."""
        return self.error in ("dropped", "timeout")


@dataclass
class RequestCase:
    """One support request: its activity and thread, when it is due, and what happened to its deliveries."""

    index: int
    activity: dict
    offset: float
    bug: bool
    repeats: int | None = None  # the request whose problem this one repeats (an incident), if any
    deliveries: list[Delivery] = field(default_factory=list)
    clicks: list[Delivery] = field(default_factory=list)
    sent_at: float | None = None
    armed_kill: bool = False
    clicked: bool = False
    click_note: str = ""
    click_notes: list[str] = field(default_factory=list)

    @property
    def thread(self) -> str:
        """The thread's conversation id."""
        return self.activity["conversation"]["id"]

    @property
    def root(self) -> str:
        """The request's id: the thread's root message id."""
        return self.activity["id"]


@dataclass
class HookCase:
    """One Bugsnag webhook of one error."""

    index: int
    error: int
    body: dict
    offset: float
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """The bot answered 200: it has stored the event."""
        return any(d.status == 200 for d in self.deliveries)

    @property
    def ambiguous(self) -> int:
        """Deliveries that may have been stored although no 200 came back."""
        return sum(d.ambiguous for d in self.deliveries)


def error_id(k: int) -> str:
    """The Bugsnag errorId of the run's k-th error."""
    return f"6560e00000000000000f{k:04d}"


def webhook(k: int, occurrence: int, event: int) -> dict:
    """The fixture's webhook, made an event of error k: firstException for its first occurrence, exception after."""
    body = copy.deepcopy(FIXTURE)
    body["trigger"]["type"] = "firstException" if occurrence == 1 else "exception"
    body["error"].update({
        "errorId": error_id(k), "id": f"6560f{event:019d}", "exceptionClass": f"FaultRunError{k}",
        "message": f"fault run error {k}", "occurrences": occurrence, "usersAffected": occurrence,
        "url": f"https://app.bugsnag.com/liefery/liefery-backend/errors/{error_id(k)}?event_id={event}",
    })
    return body


def problem(rng: random.Random) -> str:
    """A problem no other request of the run shares: made-up words, so that no two are grouped as one incident."""
    def word() -> str:
        return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))
    return f"the {word()} {word()} of depot {word()} is {word()}"


def build_traffic(mix: Mix, service_url: str) -> tuple[list[RequestCase], list[HookCase]]:
    """The requests and webhooks of a mix, each at its own time in [0, mix.seconds), deterministic for a seed."""
    rng = random.Random(mix.seed)
    words = random.Random(f"{mix.seed} words")  # its own, so the times stay those of the seed
    every = max(mix.requests // mix.bugs, 1) if mix.bugs else 0
    bugs = {i for i in range(mix.requests) if every and i % every == every - 1}
    bugs = set(sorted(bugs)[:mix.bugs])
    # An incident repeats a request that is still open when it arrives: never a bug's (a filed bug is resolved).
    spacing = mix.requests / (mix.incidents + 1) if mix.incidents else 0
    repeats: dict[int, int] = {}
    for k in range(mix.incidents):
        wanted = round(spacing * (k + 1))
        fits = [i for i in range(1, mix.requests) if i not in bugs and i - 1 not in bugs and i - 1 not in repeats
                and i not in repeats and i + 1 not in repeats]
        if fits:
            i = min(fits, key=lambda i: abs(i - wanted))
            repeats[i] = i - 1
    texts: list[str] = []
    requests = []
    for i in range(mix.requests):
        if i in repeats:
            text = texts[repeats[i]].replace(f"request {repeats[i]}:", f"request {i}:") + ", same here again"
        else:
            text = f"Fault run request {i}: {problem(words)}"
        texts.append(text)
        activity = activities.channel_mention(text, service_url, aad=OLGA, name="Olga Ops")
        offset = (i + rng.random()) * mix.seconds / max(mix.requests, 1)
        requests.append(RequestCase(i, activity, offset, i in bugs, repeats.get(i)))
    occurrences: Counter[int] = Counter()
    hooks = []
    for j in range(mix.webhooks):
        # Error k first shows up k/K of the way through the run; after that, events of the errors seen so far.
        active = min(mix.errors, 1 + j * mix.errors // mix.webhooks)
        k = active - 1 if active - 1 not in occurrences else rng.randrange(active)
        occurrences[k] += 1
        offset = (j + rng.random()) * mix.seconds / max(mix.webhooks, 1)
        hooks.append(HookCase(j, k, webhook(k, occurrences[k], j + 1), offset))
    return requests, hooks


async def seed_rotation(connection_string: str, prefix: str) -> None:
    """The e2e roster with Dora and Paula on support now, Fritz as fallback and Nico observing (the `rotation` fixture)."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings
    from bot.domain.rotation import RotationWeek
    from bot.services.roster import import_roster
    from bot.services.roster_file import RosterDocument, parse_roster

    services = build_services(load_storage_settings({"TABLES_CONNECTION_STRING": connection_string, "TABLE_PREFIX": prefix}))
    await services.store.ensure_tables()
    document = parse_roster(ROSTER_E2E.read_text(), services.policy)
    current = services.policy.at(services.clock(), services.settings.tz)
    week = RotationWeek(current.start, (DORA, PAULA), fallback=FRITZ, fallback_days=frozenset(), observer=NICO)
    await import_roster(RosterDocument(document.members, [week]), services.members, services.weeks)
    await services.store.close()


async def pending_jobs(connection_string: str, prefix: str) -> list[dict]:
    """Jobs still waiting or leased in the Jobs table (not tombstones, not the weekly cycle weeks ahead)."""
    from azure.data.tables.aio import TableClient

    found = []
    async with TableClient.from_connection_string(connection_string, f"{prefix}Jobs") as table:
        rows = table.query_entities("PartitionKey eq 'queue' and RowKey ge 'due|' and RowKey lt 'due}'")
        async for row in rows:
            if row.get("Kind") == "job.tombstone" or str(row.get("Kind", "")).startswith("cycle."):
                continue
            found.append({"id": row.get("Id"), "kind": row.get("Kind"), "attempts": int(row.get("Attempts", 0)),
                          "last_error": row.get("LastError", ""), "owner": row.get("Owner", "")})
    return found


# ---------------------------------------------------------------------------------------------- what was sent


def kind_of(sent: Sent) -> str:
    """What a send to the Connector was, from its text or attachments.

    The acknowledgement of a request is also its page ("I've paged support: …"); one grouped into an incident
    ("… the same problem as …") pages nobody. Escalations of one channel may go out as one digest in the
    channel itself, listing each request's thread by a link.
    """
    text = sent.body.get("text") or ""
    if sent.method == "PUT":
        return "card update"
    if sent.body.get("attachments"):
        return "card"
    for prefix, kind in (("Thanks <at>", "ack"), ("⏰", "escalation 1"), ("🚨", "escalation 2"),
                         (REFUSED, "refused"), ("Sorry, something went wrong", "apology"), ("Hi <at>", "hint")):
        if text.startswith(prefix):
            return "grouped ack" if kind == "ack" and GROUPED in text else kind
    if " filed as [" in text:
        return "ticket"
    if text.startswith("Filed as ["):
        return "alert ticket"
    return "other"


def links_to(sent: Sent, root: str) -> bool:
    """True when a message links a request's thread (a 1:1 page, an escalation digest)."""
    return re.search(rf"parentMessageId={re.escape(root)}(?![0-9A-Za-z])", sent.body.get("text") or "") is not None


def request_sends(by_conversation: dict[str, list[Sent]], case: "RequestCase") -> dict[str, list[Sent]]:
    """What reached a request, by kind: its thread's messages, the channel's digests that list it, its 1:1 pages.

    "ack" is every acknowledgement; "page" those that paged (all but one grouped into an incident).
    """
    found: dict[str, list[Sent]] = defaultdict(list)
    for sent in by_conversation[case.thread]:
        found[kind_of(sent)].append(sent)
    channel = case.thread.split(";messageid=")[0]
    for sent in by_conversation[channel]:
        if sent.method == "POST" and links_to(sent, case.root):
            found[kind_of(sent)].append(sent)
    for aad, person in PAGED.items():
        found[f"1:1 to {person}"] = [s for s in by_conversation[f"a:1to1-{aad}"] if links_to(s, case.root)]
    found["page"] = list(found["ack"])
    found["ack"] = sorted(found["ack"] + found["grouped ack"], key=lambda s: s.at)
    for kind in ("escalation 1", "escalation 2"):
        found[kind].sort(key=lambda s: s.at)
    return found


def grouped(sends: dict[str, list[Sent]]) -> bool:
    """The request was grouped into an incident: acknowledged as such and never paged on its own."""
    return bool(sends["grouped ack"]) and not sends["page"]


def latest_card(sends: list[Sent], card_id: str) -> dict | None:
    """The card as it now looks: its last update, else the post that created it."""
    for sent in reversed(sends):
        if (sent.method == "PUT" and sent.activity_id == card_id) or (sent.method == "POST" and sent.new_id == card_id):
            attachments = sent.body.get("attachments") or []
            return attachments[0]["content"] if attachments else None
    return None


def card_in(sends: list[Sent], thread: str) -> tuple[dict, str] | None:
    """The latest triage card posted or updated in a thread, and its message id."""
    for sent in reversed(sends):
        attachments = sent.body.get("attachments") or []
        if sent.conversation_id == thread and attachments:
            return attachments[0]["content"], sent.activity_id if sent.method == "PUT" else sent.new_id
    return None


def bug_action(card: dict) -> dict | None:
    """The triage card's Bug button, while it still has one."""
    return next((a for a in actions_in(card) if a.get("verb") == "request.triage"
                 and (a.get("data") or {}).get("outcome") == "bug"), None)


def webhooks_on(card: dict | None) -> int:
    """How many webhooks the alert card counts ("N (M webhooks here)")."""
    found = re.search(r"\((\d+) webhooks? here\)", json.dumps(card or {}))
    return int(found.group(1)) if found else 0


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 2)


# ---------------------------------------------------------------------------------------------- the run


class FaultRun:
    """Starts the world, drives the mix through the schedule, settles, measures, stops everything."""

    def __init__(self, plan: Plan, workdir: Path, azurite: Azurite | None = None, log_dir: Path | None = None) -> None:
        self.plan = plan
        self.workdir = Path(workdir)
        self.log_dir = Path(log_dir) if log_dir is not None else self.workdir
        self.prefix = "f" + uuid.uuid4().hex[:12]
        needs_disk = any(isinstance(f, StopStorage) for f in plan.faults)
        if azurite is not None and needs_disk and azurite.location is None:
            raise ValueError("this schedule stops Table Storage: give an Azurite on disk, or none")
        self._own_azurite = azurite is None
        self.azurite = azurite or Azurite(location=self.workdir / "azurite")
        self.connector = Connector()
        self.jira = Jira()
        self.bots: list[BotProcess] = []
        self.world: World | None = None
        self.schedule = FaultSchedule(list(plan.faults))
        self.deliveries: list[Delivery] = []
        self.requests: list[RequestCase] = []
        self.hooks: list[HookCase] = []
        self.health: list[dict] = []
        self.answers: dict[int, object] = {}  # id(Delivery) -> the JSON an invoke answered with
        self._turn = 0
        self._runners: list[web.AppRunner] = []
        self.t0 = 0.0
        self.timeline: dict[str, float] = {}

    # ------------------------------------------------------------------ start and stop

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._runners.append(runner)
        return f"http://127.0.0.1:{port}"

    def bot_env(self) -> dict[str, str]:
        """The bots' environment: the desk fixture's, plus the webhook secret and a fixed alert channel."""
        t = self.plan.timings
        return {
            "ALLOW_UNAUTHENTICATED": "true",
            "TABLES_CONNECTION_STRING": self.azurite.connection_string,
            "TABLE_PREFIX": self.prefix,
            "SUPPORT_CONFIG": str(SUPPORT_ALWAYS),
            "FIRST_RESPONSE_TARGET_SECONDS": str(t.first_response),
            "LEAD_ESCALATION_SECONDS": str(t.lead),
            "JOB_POLL_MILLISECONDS": str(t.poll_ms),
            "JIRA_BASE_URL": self.jira.url,
            "JIRA_EMAIL": self.jira.email,
            "JIRA_API_TOKEN": self.jira.api_token,
            "JIRA_RETRY_SECONDS": str(t.jira_retry),
            "BUGSNAG_WEBHOOK_SECRET": SECRET,
            "ALERTS_CHANNEL_ID": ALERTS,
            "TEAMS_SERVICE_URL": self.connector.url,
            "ALERT_ESCALATION_SECONDS": str(t.alert_escalation),
            "LOG_LEVEL": self.plan.log_level,
        }

    async def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._own_azurite:
            await asyncio.to_thread(self.azurite.start)
        self.connector.url = await self._serve(self.connector.app()) + "/"
        self.jira.url = await self._serve(self.jira.app())
        await seed_rotation(self.azurite.connection_string, self.prefix)
        env = self.bot_env()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.bots = [BotProcess(env, self.log_dir / f"faults-bot{i}.log") for i in range(self.plan.instances)]
        for bot in self.bots:
            bot.log_path.unlink(missing_ok=True)
        await asyncio.gather(*(asyncio.to_thread(bot.start) for bot in self.bots))
        self.world = World(self.connector, self.jira, self.azurite, self.bots)

    async def _stop(self) -> None:
        failed: BaseException | None = None
        if self.world is not None:
            try:
                await asyncio.wait_for(self.world.drain(), 30)
            except asyncio.TimeoutError:
                pass
            except Exception as err:  # noqa: BLE001 - raised below, once everything is stopped
                failed = err
        # In threads, so this loop keeps serving the stand-ins while the bots shut down.
        await asyncio.gather(*(asyncio.to_thread(bot.stop) for bot in self.bots))
        for runner in self._runners:
            await runner.cleanup()
        if self._own_azurite:
            await asyncio.to_thread(self.azurite.stop)
        if failed is not None:
            raise RuntimeError(f"a fault of the schedule could not be applied: {failed!r}") from failed

    # ------------------------------------------------------------------ sending

    async def _pick(self, wait: float = 40.0) -> int | None:
        """The next instance that is up, round robin; waits (bounded) while none is."""
        assert self.world is not None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            ready = [i for i, up in enumerate(self.world.ready) if up]
            if ready:
                self._turn += 1
                return ready[self._turn % len(ready)]
            await asyncio.sleep(0.1)
        return None

    async def _post(self, http: aiohttp.ClientSession, bot: int, endpoint: str, path: str, body: dict,
                    timeout: float) -> tuple[Delivery, dict | str | None]:
        started = time.monotonic()
        status, error, answer = None, "", None
        try:
            async with http.post(self.bots[bot].url + path, json=body,
                                 timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                raw = await response.read()
                status = response.status
                try:
                    answer = json.loads(raw) if raw else None
                except ValueError:
                    answer = raw.decode(errors="replace")
        except aiohttp.ClientConnectorError:
            error = "refused"
        except asyncio.TimeoutError:
            error = "timeout"
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
            error = "dropped"
        delivery = Delivery(started, endpoint, bot, status, error, round(time.monotonic() - started, 3))
        self.deliveries.append(delivery)
        return delivery, answer

    async def _deliver(self, http: aiohttp.ClientSession, endpoint: str, path: str, body: dict, timeout: float,
                       record: list[Delivery], prefer: int | None = None) -> Delivery | None:
        """Deliver until a bot answers below 500, as Teams and Bugsnag redeliver; the last delivery (None: no bot up)."""
        assert self.world is not None
        last = None
        for attempt, pause in enumerate((0.0, *REDELIVERY_PAUSES)):
            await asyncio.sleep(pause)
            bot = prefer if attempt == 0 and prefer is not None and self.world.ready[prefer] else await self._pick()
            if bot is None:
                return last
            last, answer = await self._post(http, bot, endpoint, path, body, timeout)
            record.append(last)
            if endpoint == "invoke":
                self.answers[id(last)] = answer
            if last.status is not None and last.status < 500:
                return last
        return last

    async def _send_request(self, http: aiohttp.ClientSession, case: RequestCase) -> None:
        assert self.world is not None
        await asyncio.sleep(max(0.0, self.t0 + case.offset - time.monotonic()))
        prefer = None
        if self.world.armed and case.repeats is None:  # a request grouped into an incident pages nobody
            bot, down = self.world.armed[0]
            if self.world.ready[bot]:
                self.world.armed.pop(0)
                prefer = bot
                case.armed_kill = True
                self.world.kill_after_ack(case.thread, bot, down)
        case.sent_at = time.monotonic()
        await self._deliver(http, "messages", "/api/messages", case.activity, TEAMS_TIMEOUT, case.deliveries, prefer)
        if case.bug:
            await self._triage_as_bug(http, case)

    async def _triage_as_bug(self, http: aiohttp.ClientSession, case: RequestCase, wait: float = 40.0) -> None:
        """Dora triages the request as Bug from its triage card, once the card is there."""
        deadline = time.monotonic() + wait
        while (found := card_in(self.connector.sent, case.thread)) is None:
            kinds = {kind_of(s) for s in self.connector.sent if s.conversation_id == case.thread}
            if "grouped ack" in kinds and "ack" not in kinds:
                return  # grouped into an incident: its first request has the card
            if time.monotonic() > deadline:
                if "refused" not in kinds:
                    case.click_note = f"no triage card within {wait:g} s, so no Bug click"
                return  # else not recorded while storage was down, and the requester was told: nothing to triage
            await asyncio.sleep(0.2)
        card, card_id = found
        case.clicked = True
        for _ in range(CLICK_TRIES):
            action = bug_action(card)
            if action is None:
                case.click_note = "the triage card has no Bug button"
                return
            data = dict(action["data"], bug_summary=f"Fault run bug {case.index}: tour export 500",
                        bug_description=f"Request {case.index} of the fault run")
            click = activities.card_action("request.triage", data, self.connector.url, reply_to=card_id, aad=DORA,
                                           name="Dora Dev", conversation_id=case.thread)
            answered = await self._deliver(http, "invoke", "/api/messages", click, TEAMS_TIMEOUT, case.clicks)
            answer = self.answers.get(id(answered))
            if answered is None or not isinstance(answer, dict):
                return
            value = answer.get("value")
            if isinstance(value, str) and "try again" in value:
                case.click_notes.append(value)  # "Nothing was changed; please try again": Dora clicks again
                await asyncio.sleep(2.0)
            elif isinstance(value, dict) and bug_action(value) is not None:
                # The card had changed meanwhile (an escalation updated it): the click got the current card and
                # changed nothing. Dora clicks Bug again on the card she now sees.
                case.click_notes.append("stale card: clicked again on the current one")
                card = value
                await asyncio.sleep(1.0)
            else:
                return

    async def _send_hook(self, http: aiohttp.ClientSession, case: HookCase) -> None:
        await asyncio.sleep(max(0.0, self.t0 + case.offset - time.monotonic()))
        await self._deliver(http, "bugsnag", f"/api/bugsnag/{SECRET}", case.body, BUGSNAG_TIMEOUT, case.deliveries)

    # ------------------------------------------------------------------ settling

    def missing(self) -> list[str]:
        """What is still expected and not there (empty when everything arrived)."""
        return [f"{what}: {why}" for what, why in self._expectations() if why]

    def _expectations(self) -> list[tuple[str, str]]:
        sends = self.connector.sent
        by_conversation: dict[str, list[Sent]] = defaultdict(list)
        for sent in sends:
            by_conversation[sent.conversation_id].append(sent)
        found: list[tuple[str, str]] = []
        for case in self.requests:
            got = request_sends(by_conversation, case)
            name = f"request {case.index}"
            if got["refused"] and not got["ack"]:
                continue  # told the requester that it could not be recorded
            if not any(got.values()):
                found.append((name, "nothing at all: no acknowledgement, page, card or 1:1"))
                continue
            found.append((name, "" if got["ack"] else "no acknowledgement"))
            if grouped(got):
                continue  # its incident's first request is paged, carded and escalated for it
            found.append((name, "" if got["page"] else "no page"))
            found.append((name, "" if got["card"] else "no triage card"))
            for person in PAGED.values():
                found.append((name, "" if got[f"1:1 to {person}"] else f"no 1:1 to {person}"))
            if not case.clicked:
                found.append((name, "" if got["escalation 1"] else "no first-response escalation (⏰)"))
                found.append((name, "" if got["escalation 2"] else "no lead escalation (🚨)"))
            elif not case.click_note:
                label = f"supportbot-{case.root}"
                found.append((name, "" if self.jira.labelled(label) else "no Jira ticket"))
                found.append((name, "" if got["ticket"] else "no 'filed as' post"))
        for k in range(self.plan.mix.errors):
            accepted = sum(h.accepted for h in self.hooks if h.error == k)
            if not accepted:
                continue
            cards = self._alert_cards(k)
            name = f"error {k}"
            found.append((name, "" if cards else "no alert card"))
            counted = max((webhooks_on(latest_card(sends, c.new_id)) for c in cards), default=0)
            found.append((name, "" if counted >= accepted else f"the card counts {counted} of {accepted} accepted webhooks"))
            escalations = Counter(kind_of(s) for c in cards for s in by_conversation[f"{ALERTS};messageid={c.new_id}"])
            found.append((name, "" if escalations["escalation 1"] else "no alert escalation (⏰)"))
            found.append((name, "" if escalations["escalation 2"] else "no alert lead escalation (🚨)"))
        return found

    def _alert_cards(self, k: int) -> list[Sent]:
        marker = f"/errors/{error_id(k)}"
        return [s for s in self.connector.sent if s.method == "POST" and s.conversation_id == ALERTS
                and s.body.get("attachments") and marker in json.dumps(s.body["attachments"][0].get("content"))]

    async def _settle(self) -> dict:
        """Wait until nothing is missing and nothing moved for quiet_seconds, at most settle_seconds."""
        assert self.world is not None
        started = time.monotonic()
        deadline = started + self.plan.settle_seconds
        seen = (len(self.connector.arrivals), len(self.jira.received))
        moved = time.monotonic()
        while True:
            now = time.monotonic()
            current = (len(self.connector.arrivals), len(self.jira.received))
            if current != seen:
                seen, moved = current, now
            restarting = any(not up for up in self.world.ready) or not self.world.storage_up
            if not restarting and not self.missing() and now - moved >= self.plan.quiet_seconds \
                    and not await self._jobs_in_flight():
                return {"seconds": round(now - started, 1), "complete": True}
            if now >= deadline:
                return {"seconds": round(now - started, 1), "complete": False}
            await asyncio.sleep(0.25)

    async def _jobs_in_flight(self) -> bool:
        """A job was attempted and is not done: running, waiting out a lease its killed instance held, or retrying."""
        try:
            pending = await pending_jobs(self.azurite.connection_string, self.prefix)
        except Exception:  # noqa: BLE001 - storage may be restarting; the next round reads again
            return True
        return any(p["attempts"] > 0 or p["last_error"] for p in pending)

    # ------------------------------------------------------------------ the run

    async def run(self) -> dict:
        """Start everything, drive the mix through the schedule, settle, measure, stop; the report."""
        wall = time.monotonic()
        try:
            await self._start()
            self.timeline["started_s"] = round(time.monotonic() - wall, 1)
            self.requests, self.hooks = build_traffic(self.plan.mix, self.connector.url)
            assert self.world is not None
            connector = aiohttp.TCPConnector(limit=200)
            async with aiohttp.ClientSession(connector=connector) as http:
                self.t0 = time.monotonic()
                faults = self.schedule.start(self.world)
                await asyncio.gather(
                    faults,
                    *(self._send_request(http, case) for case in self.requests),
                    *(self._send_hook(http, case) for case in self.hooks),
                )
                self.timeline["traffic_s"] = round(time.monotonic() - self.t0, 1)
                settled = await self._settle()
                self.timeline["settled_s"] = round(time.monotonic() - self.t0, 1)
                for i, bot in enumerate(self.bots):
                    if self.world.ready[i]:
                        self.health.append(await self._healthz(http, i))
            pending = await pending_jobs(self.azurite.connection_string, self.prefix)
            report = measure(self, settled, pending)
        finally:
            await self._stop()
        report["timeline_s"] = {**self.timeline, "total": round(time.monotonic() - wall, 1)}
        return report

    async def _healthz(self, http: aiohttp.ClientSession, bot: int) -> dict:
        try:
            async with http.get(self.bots[bot].url + "/healthz", timeout=aiohttp.ClientTimeout(total=10)) as response:
                return {"bot": bot, "status": response.status, **(await response.json())}
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as err:
            return {"bot": bot, "status": None, "error": type(err).__name__}


# ---------------------------------------------------------------------------------------------- measuring


def bot_logs(run: FaultRun) -> dict:
    """From the bots' JSON logs: levels, attempts per job, leases lost, unexpected errors (first line each)."""
    levels: Counter[str] = Counter()
    attempts: dict[str, int] = {}
    lost_leases: list[str] = []
    errors: list[str] = []
    for bot in run.bots:
        for line in bot.log().splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            levels[entry.get("level", "?")] += 1
            job = entry.get("job_id")
            if job and str(entry.get("attempt", "")).isdigit():
                attempts[job] = max(attempts.get(job, 0), int(entry["attempt"]))
            match = re.search(r"job (\S+) \(\S+\) will retry in [\d.]+s \(attempt (\d+)\)", entry.get("message", ""))
            if match:
                attempts[match.group(1)] = max(attempts.get(match.group(1), 0), int(match.group(2)))
            if "lost its lease" in entry.get("message", ""):
                lost_leases.append(entry["message"][:200])
            if entry.get("level") in ("ERROR", "CRITICAL"):
                errors.append(entry.get("message", "")[:200])
    return {"levels": dict(levels), "attempts": attempts, "lost_leases": lost_leases, "errors": errors}


def explain(run: FaultRun, copies: list[Sent], lost_leases: list[str]) -> str:
    """Why the bot sent the same message more than once, from what the schedule did around the first copies."""
    assert run.world is not None
    earlier = copies[:-1]
    if any(s.answer_lost for s in earlier):
        return "Teams took it but the answer was lost (Connector 'lose'), so the bot could not know and sent it again"
    first, last = copies[0].at, copies[-1].at
    kills = [k for k in run.world.kills() if first - 1.0 <= k.at <= last]
    if kills:
        return f"bot {kills[0].bot} was SIGKILLed after sending it and before recording it; the job ran again"
    kills = [k for k in run.world.kills() if first - LEASE_SECONDS - 5.0 <= k.at <= first]
    if kills:
        return (f"bot {kills[-1].bot} was SIGKILLed mid-job at {kills[-1].at - run.t0:.1f} s; the job ran again after "
                "its lease and sent this again")
    if any(start - 1.0 <= first <= end + STORAGE_GRACE or first <= start <= last
           for start, end in run.world.storage_windows()):
        return "Table Storage went down right after the send, so it could not be recorded and the job ran again"
    if lost_leases:
        return "a job lost its lease to another instance while it ran (see the bots' logs)"
    return "unexplained"


def measure(run: FaultRun, settled: dict, pending: list[dict]) -> dict:
    """Every figure of the run, and the targets."""
    assert run.world is not None
    sends = run.connector.sent
    by_conversation: dict[str, list[Sent]] = defaultdict(list)
    for sent in sends:
        by_conversation[sent.conversation_id].append(sent)
    logs = bot_logs(run)
    duplicates: list[dict] = []
    lost: list[str] = []

    def duplicate(kind: str, where: str, copies: list[Sent]) -> None:
        duplicates.append({"kind": kind, "where": where, "copies": len(copies),
                           "at_s": [round(s.at - run.t0, 2) for s in copies],
                           "reason": explain(run, copies, logs["lost_leases"])})

    # Requests.
    acked_once = paged = carded = refused = incident = paged_after_outage = 0
    to_ack, to_page, crash_pages, threads = [], [], [], []
    late: dict[str, float] = {}  # seconds after its due time that a page or an escalation arrived
    not_acked: list[dict] = []
    for case in run.requests:
        thread = by_conversation[case.thread]
        by_kind = request_sends(by_conversation, case)
        acks, pages = by_kind["ack"], by_kind["page"]
        if by_kind["refused"] and not acks:
            refused += 1
        paged_after_outage += bool(by_kind["refused"] and pages)
        acked_once += len(acks) == 1
        paged += bool(pages)
        incident += grouped(by_kind)
        carded += bool(by_kind["card"])
        if not acks and not by_kind["refused"]:
            not_acked.append({"request": case.index, "deliveries": [d.outcome for d in case.deliveries],
                              "why": why_not_acked(run, case)})
        for kind in ("ack", "card", "escalation 1", "escalation 2", "ticket", *(f"1:1 to {p}" for p in PAGED.values())):
            if len(by_kind[kind]) > 1:
                duplicate(kind, f"request {case.index}", by_kind[kind])
        if case.sent_at is not None and acks:
            to_ack.append(acks[0].at - case.sent_at)
        if case.sent_at is not None and pages:
            to_page.append(pages[0].at - case.sent_at)
        if not grouped(by_kind):
            crash_pages += crash_to_page(run, case, pages, by_kind["card"])
        arrived = next((d.at for d in case.deliveries if d.error != "refused"), None)
        if arrived is not None:
            timings = run.plan.timings
            due = {"page": arrived, "escalation 1": arrived + timings.first_response, "escalation 2": arrived + timings.lead}
            for kind, when in due.items():
                if by_kind[kind]:
                    late[f"request {case.index}: {kind}"] = round(by_kind[kind][0].at - when, 2)
        threads.append({"request": case.index, "root": case.root, "bug": case.bug, "click_notes": case.click_notes,
                        "sent_s": None if case.sent_at is None else round(case.sent_at - run.t0, 2),
                        "deliveries": [f"bot {d.bot}: {d.outcome}" for d in case.deliveries],
                        "sends": [f"{s.at - run.t0:.2f} {kind_of(s)}" for s in thread]})
        if case.bug and case.click_note and thread:
            lost.append(f"request {case.index}: {case.click_note}")
    lost += [f"{what}: {why}" for what, why in run._expectations() if why]

    # Jira.
    tickets = Counter(label for issue in run.jira.issues for label in issue.labels)
    jira_duplicates = {label: n for label, n in tickets.items() if n > 1}
    for label, n in jira_duplicates.items():
        lost_answers = [f for f in run.jira.faulted if "lost the answer" in f[3]]
        duplicates.append({"kind": "Jira ticket", "where": label, "copies": n, "reason": (
            "Jira created it but the answer was lost, and its search had not caught up when the bot looked again"
            if lost_answers else "unexplained")})

    # Alerts.
    alert_errors = []
    for k in range(run.plan.mix.errors):
        hooks = [h for h in run.hooks if h.error == k]
        cards = run._alert_cards(k)
        counted = max((webhooks_on(latest_card(sends, c.new_id)) for c in cards), default=0)
        accepted = sum(h.accepted for h in hooks)
        ambiguous = sum(h.ambiguous for h in hooks)
        escalations: dict[str, list[Sent]] = defaultdict(list)
        for card in cards:
            for sent in by_conversation[f"{ALERTS};messageid={card.new_id}"]:
                escalations[kind_of(sent)].append(sent)
        if len(cards) > 1:
            duplicate("alert card", f"error {k}", cards)
        if cards:
            every = run.plan.timings.alert_escalation
            for level, kind in ((1, "escalation 1"), (2, "escalation 2")):
                if escalations[kind]:
                    late[f"error {k}: alert {kind}"] = round(escalations[kind][0].at - cards[0].at - level * every, 2)
        for kind in ("escalation 1", "escalation 2"):
            if len(escalations[kind]) > 1:
                duplicate(f"alert {kind}", f"error {k}", escalations[kind])
        if counted > accepted + ambiguous:
            duplicates.append({"kind": "alert event counted twice", "where": f"error {k}",
                               "copies": counted - accepted, "reason": "unexplained: the card counts more webhooks "
                               f"({counted}) than were accepted ({accepted}) or may have been stored ({ambiguous})"})
        alert_errors.append({"error": k, "webhooks": len(hooks), "accepted": accepted, "ambiguous": ambiguous,
                             "cards": len(cards), "counted_on_card": counted,
                             "escalations": [len(escalations["escalation 1"]), len(escalations["escalation 2"])]})
    for hook in run.hooks:
        if not hook.accepted:
            lost.append(f"webhook {hook.index}: never accepted ({', '.join(d.outcome for d in hook.deliveries)})")

    # HTTP answers.
    statuses = Counter(f"{d.endpoint} {d.outcome}" for d in run.deliveries)
    server_errors = [d for d in run.deliveries if d.status is not None and d.status >= 500]
    by_design = [d for d in server_errors if d.endpoint == "bugsnag" and d.status == 503 and any(
        start - 0.5 <= d.at <= end + STORAGE_GRACE for start, end in run.world.storage_windows())]
    unexpected = [d for d in server_errors if d not in by_design]

    slow = [d for d in run.deliveries if d.endpoint in ("messages", "invoke") and d.status is not None
            and d.seconds > SLOW_ANSWER_SECONDS]
    stuck = {what: seconds for what, seconds in late.items() if seconds > STUCK_SECONDS}

    # Loops.
    tries = Counter((method, path, digest) for _, method, path, digest in run.connector.arrivals)
    most_tries = tries.most_common(1)[0] if tries else None
    looping = sorted({job for job, n in logs["attempts"].items() if n > LOOP_ATTEMPTS}
                     | {p["id"] for p in pending if p["attempts"] > LOOP_ATTEMPTS})
    still_failing = [p for p in pending if p["attempts"] > 0 or p["last_error"]]
    parked = max((h.get("parked_jobs", 0) for h in run.health), default=None)

    crash_seconds = [c["seconds"] for c in crash_pages if c["seconds"] is not None]
    kills = len(run.world.kills())
    report = {
        "mix": run.plan.mix.__dict__, "instances": run.plan.instances, "timings": run.plan.timings.__dict__,
        "schedule": [{"at_s": at, "fault": what} for at, what in run.schedule.applied],
        "events": [{"at_s": round(e.at - run.t0, 2), "kind": e.kind, "detail": e.detail}
                   for e in run.world.events if e.kind != "fault"],
        "settle": settled,
        "requests": {
            "sent": len(run.requests), "acknowledged_once": acked_once, "paged": paged, "triage_cards": carded,
            "grouped_into_incident": incident,
            "refused_storage_down": refused, "paged_once_storage_was_back": paged_after_outage,
            "not_acknowledged": not_acked,
            "seconds_to_ack": {"p50": percentile(to_ack, 0.5), "p95": percentile(to_ack, 0.95), "max": percentile(to_ack, 1)},
            "seconds_to_page": {"p50": percentile(to_page, 0.5), "p95": percentile(to_page, 0.95), "max": percentile(to_page, 1)},
        },
        "jira": {"bugs": sum(c.clicked for c in run.requests), "tickets": len(run.jira.issues),
                 "requests": len(run.jira.received), "faulted": len(run.jira.faulted)},
        "alerts": {"errors": run.plan.mix.errors, "webhooks": len(run.hooks),
                   "accepted": sum(h.accepted for h in run.hooks), "cards": sum(e["cards"] for e in alert_errors),
                   "per_error": alert_errors},
        "connector": {"requests": len(run.connector.arrivals), "faulted": len(run.connector.faulted),
                      "faulted_by_rule": dict(Counter(f.rule for f in run.connector.faulted)),
                      "answers_lost": sum(s.answer_lost for s in sends),
                      "most_tries_of_one_message": most_tries[1] if most_tries else 0},
        "duplicates": duplicates,
        "lost": lost,
        "parked_jobs": parked,
        "healthz": run.health,
        "pending_jobs": pending,
        "crash_to_page": crash_pages,
        "late_s": {"max": max(late.values(), default=None), "over_20_s": stuck,
                   "teams_answers_over_10_s": [f"{d.endpoint} from bot {d.bot} at {d.at - run.t0:.1f} s took {d.seconds:.1f} s"
                                               for d in slow]},
        "http": {"statuses": dict(sorted(statuses.items())), "5xx": len(server_errors),
                 "5xx_by_design": len(by_design),
                 "5xx_unexpected": [f"{d.endpoint} {d.status} from bot {d.bot} at {d.at - run.t0:.1f} s" for d in unexpected]},
        "jobs": {"max_attempts": max(logs["attempts"].values(), default=0), "looping": looping,
                 "still_failing": still_failing, "leases_lost": len(logs["lost_leases"])},
        "logs": {"levels": logs["levels"], "errors": logs["errors"][:20]},
        "kills": kills,
        "threads": threads,
    }
    report["targets"] = {
        "nothing_lost": {"met": not lost and parked == 0 and not still_failing,
                         "what": "every request acknowledged once, paged, carded, written to 1:1 and escalated; every "
                                 "bug filed once and announced; every error carded with all its webhooks counted and "
                                 "escalated; no parked or still-failing job"},
        "nothing_stuck": {"met": not stuck and not slow,
                          "what": f"every page within {STUCK_SECONDS:g} s of the request's arrival, every escalation "
                                  f"within {STUCK_SECONDS:g} s of its due time, no answer to Teams slower than "
                                  f"{SLOW_ANSWER_SECONDS:g} s"},
        "no_5xx": {"met": not unexpected, "what": "no 5xx from the bots, except 503 to webhooks while Table Storage "
                                                  "was down (by design: nothing acknowledged that could be lost)"},
        "paged_within_20s_of_a_crash": {
            "met": (all(s <= CRASH_PAGE_TARGET for s in crash_seconds) and len(crash_seconds) == len(crash_pages))
            if crash_pages else None,
            "what": "requests a bot took at most 5 s before it was SIGKILLed, whose page (the acknowledgement) or "
                    f"triage card was not out by then: both out within {CRASH_PAGE_TARGET:g} s of the kill"},
        "no_job_loops": {"met": not looping and not still_failing,
                         "what": f"no job attempted more than {LOOP_ATTEMPTS} times, none still failing at the end"},
        "duplicates_explained": {"met": all(d["reason"] != "unexplained" and not d["reason"].startswith("unexplained")
                                            for d in duplicates),
                                 "what": "every message sent more than once has a reason from the schedule"},
    }
    return report


def why_not_acked(run: FaultRun, case: RequestCase) -> str:
    """A best guess at why a request got no acknowledgement, from its deliveries and the Connector's log."""
    outcomes = [d.outcome for d in case.deliveries]
    thread_faults = [f for f in run.connector.faulted if case.thread in f.path]
    assert run.world is not None
    storage_down = any(start <= d.at <= end for d in case.deliveries for start, end in run.world.storage_windows())
    if storage_down and thread_faults:
        rules = "; ".join(dict.fromkeys(f"{f.mode} {f.status or ''}".strip() for f in thread_faults))
        return (f"it arrived while Table Storage was down, so it was not recorded, and the notice saying so was cut "
                f"off by the Connector ({rules}): the requester heard nothing")
    if thread_faults:
        rules = "; ".join(dict.fromkeys(f"{f.mode} {f.status or ''}".strip() for f in thread_faults))
        return (f"the Connector failed the acknowledgement ({rules}) longer than the bot retries within the turn; "
                "a reply that fails in the turn is not sent again later")
    if any(o in ("dropped", "timeout") for o in outcomes[:-1]):
        return ("the first delivery reached a bot that died (or did not answer) before acknowledging; the "
                "redelivery was taken as a duplicate of the stored request and not acknowledged")
    if not any(o.startswith("2") for o in outcomes):
        return "no delivery was answered"
    return "unknown"


def crash_to_page(run: FaultRun, case: RequestCase, pages: list[Sent], cards: list[Sent]) -> list[dict]:
    """If the bot that took this request was SIGKILLed soon after, before its paging was done: seconds from the kill
    until the page (the acknowledgement) and the triage card were both out.

    "Took" means a delivery to it started at most CRASH_WINDOW before the kill; whether the page went out before
    the kill is noted (`acked`: an armed kill fires the moment it reaches the Connector, so what is left is the
    card). Only the first such kill counts; a request never recorded (refused while storage was down) is not one.
    """
    assert run.world is not None
    for kill in run.world.kills():
        took = [d for d in case.deliveries if d.bot == kill.bot and kill.at - CRASH_WINDOW <= d.at <= kill.at]
        if not took or (pages and cards and max(pages[0].at, cards[0].at) <= kill.at):
            continue
        acked = bool(pages) and pages[0].at <= kill.at
        if not (pages or cards):
            continue  # no sign that it was ever recorded: counted as lost, if it was
        done = max(pages[0].at, cards[0].at) if pages and cards else None
        return [{"request": case.index, "bot": kill.bot, "armed": case.armed_kill, "acked": acked,
                 "kill_s": round(kill.at - run.t0, 2), "seconds": round(done - kill.at, 2) if done else None}]
    return []


# ---------------------------------------------------------------------------------------------- the table


def render(report: dict) -> str:
    """The figures as a table for people."""
    r, a, h, j = report["requests"], report["alerts"], report["http"], report["jobs"]
    crash = [c["seconds"] for c in report["crash_to_page"]]
    rows = [
        ("support requests sent", r["sent"]),
        ("  acknowledged exactly once", r["acknowledged_once"]),
        ("  told storage was down, paged once it was back", r["paged_once_storage_was_back"]),
        ("  told storage was down, never paged", r["refused_storage_down"]),
        ("  not acknowledged", len(r["not_acknowledged"])),
        ("  paged / triage card", f"{r['paged']} / {r['triage_cards']}"),
        ("  grouped into an incident (not paged)", r["grouped_into_incident"]),
        ("  s to ack p50 / p95 / max", _triple(r["seconds_to_ack"])),
        ("  s to page p50 / p95 / max", _triple(r["seconds_to_page"])),
        ("Bugsnag webhooks sent / accepted", f"{a['webhooks']} / {a['accepted']}"),
        ("  distinct errors / alert cards", f"{a['errors']} / {a['cards']}"),
        ("Jira bugs / tickets", f"{report['jira']['bugs']} / {report['jira']['tickets']}"),
        ("duplicates (all explained?)", f"{len(report['duplicates'])} ({'yes' if report['targets']['duplicates_explained']['met'] else 'NO'})"),
        ("lost", len(report["lost"])),
        ("parked jobs (/healthz)", report["parked_jobs"]),
        ("SIGKILLs", report["kills"]),
        ("s from crash to page and card", ", ".join("—" if s is None else f"{s:g}" for s in crash) or "—"),
        ("latest page/escalation, s past due", "—" if report["late_s"]["max"] is None else f"{report['late_s']['max']:.1f}"),
        ("Teams answers slower than 10 s", len(report["late_s"]["teams_answers_over_10_s"])),
        ("HTTP 5xx from the bots (by design)", f"{h['5xx']} ({h['5xx_by_design']})"),
        ("highest failed attempt of a job / looping", f"{j['max_attempts']} / {len(j['looping']) + len(j['still_failing'])}"),
        ("Connector requests / faulted / answers lost",
         f"{report['connector']['requests']} / {report['connector']['faulted']} / {report['connector']['answers_lost']}"),
        ("ERROR lines in the bots' logs", report["logs"]["levels"].get("ERROR", 0)),
        ("settled after (s), complete", f"{report['settle']['seconds']}, {report['settle']['complete']}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append("")
    lines.append("HTTP answers: " + ", ".join(f"{k} ×{v}" for k, v in h["statuses"].items()))
    for d in report["duplicates"]:
        lines.append(f"duplicate: {d['kind']} in {d['where']} ×{d['copies']}: {d['reason']}")
    for item in report["lost"]:
        lines.append(f"lost: {item}")
    for item in r["not_acknowledged"]:
        lines.append(f"not acknowledged: request {item['request']} ({', '.join(item['deliveries'])}): {item['why']}")
    for item in h["5xx_unexpected"]:
        lines.append(f"5xx: {item}")
    for what, seconds in report["late_s"]["over_20_s"].items():
        lines.append(f"stuck: {what} {seconds:.1f} s past due")
    for item in report["late_s"]["teams_answers_over_10_s"]:
        lines.append(f"slow answer: {item}")
    for line in dict.fromkeys(report["logs"]["errors"]):
        lines.append(f"ERROR logged: {' '.join(line.split())[:160]}")
    for job in j["still_failing"]:
        lines.append(f"still failing: {job['kind']} {job['id']} after {job['attempts']} attempts: {job['last_error'][:120]}")
    lines.append("")
    for name, target in report["targets"].items():
        met = {True: "MET", False: "NOT MET", None: "n/a"}[target["met"]]
        lines.append(f"{name:<34} {met}")
    return "\n".join(lines)


def _triple(figures: dict) -> str:
    return " / ".join("—" if figures[k] is None else f"{figures[k]:.2f}" for k in ("p50", "p95", "max"))

