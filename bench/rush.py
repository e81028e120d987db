"""The 16-18 h rush: bursts, a busy evening replayed, and a soak, against a Connector that keeps Teams' limits.

    .venv/bin/python -m bench.rush            # bursts of 10 and 30 (3 each), 2 h replayed 60x faster, 10,000 in the soak
    .venv/bin/python -m bench.rush --quick    # bursts of 10 and 30 (once each), 20 min of the evening, 600 in the soak

Every request is a Teams channel @mention from Olga Ops in #backend, each in a new thread. The Connector stand-in
(tests/support/connector.py with `enforce_limits`) answers 429 whenever a send would go over Teams' limits per
thread (7/1 s, 8/2 s, 60/30 s, 1800/h) or per app (50/s), so every figure is taken under those limits. The bursts
run beside the botbuilder echo bot (bench/echo_bot.py) on its own enforcing stand-in. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import unquote

import aiohttp
import psutil
from aiohttp import web

from bench.provenance import git_state, machine
from bench.report import say
from bench.rush_texts import INCIDENTS, distinct_pool
from bench.stack import ECHO_BOTS, RESULTS, spawn
from bench.stats import percentile
from tests.support import activities
from tests.support.cards import actions_in
from tests.support.connector import TEAMS_APP_LIMITS, TEAMS_THREAD_LIMITS, Connector, Sent
from tests.support.faults import pending_jobs, seed_rotation
from tests.support.processes import ROOT, Azurite, BotProcess, free_port

BACKEND = "19:backend0channel0id@thread.tacv2"  # the channel of tests/fixtures/teams/channel_mention.json
SUPPORT_ALWAYS = ROOT / "tests" / "fixtures" / "support_always.yaml"
OLGA = "6a1f2e8c-0000-4000-8000-00000000a001"
DORA = "6a1f2e8c-0000-4000-8000-00000000d001"
GROUPED = "looks like the same problem as"
ACKS = ("ack", "grouped", "echo")
_LINK = re.compile(r"/l/message/([^/?\s]+)/[0-9A-Za-z]+\?[^)\s]*parentMessageId=([0-9A-Za-z]+)")
ESCALATIONS = ("escalation1", "escalation2")
# The targets.
ACK_SLACK_SECONDS = 0.5  # the k-th acknowledgement of a burst within what Teams' limits allow for it, plus this
BURST_ALL_SECONDS = 2.5  # the reading of that for a burst of 30
MEDIAN_RATIO_LIMIT = 2.0  # our burst median at most twice the echo bot's
MESSAGES_BEFORE_RESPONSE = 2
RSS_LIMIT_MB = 150.0
RSS_SLOPE_LIMIT_MB = 1.0  # per 1,000 requests after the first 1,000: "no upward trend"
THROUGHPUT_DROP_LIMIT = 0.20
# In the soak, support resolves a request it never answered this long after it arrived: past the lead escalation
# (4 s) and the digest that carries it (digests go out every 10 s).
UNANSWERED_FOR = 16.0


def kind_of(body: dict) -> str:
    """What a message the bot posted is."""
    if body.get("attachments"):
        return "card"
    text = body.get("text") or ""
    if text.startswith("⏰"):
        return "escalation1"
    if text.startswith("🚨"):
        return "escalation2"
    if text.startswith("Thanks <at>"):
        return "grouped" if GROUPED in text else "ack"
    if text.startswith("Echo:"):
        return "echo"
    return "other"


def resolve_data(card: dict) -> dict | None:
    """The data of the card's "self-service" triage button (it carries the card's revision), if it has one."""
    return next((a["data"] for a in actions_in(card) if a.get("verb") == "request.triage"
                 and (a.get("data") or {}).get("outcome") == "self_service"), None)


def allowed_at(k: int) -> float:
    """The earliest second Teams' limits let the k-th acknowledgement (1-based) of a burst go out, when each is the
    first message of its own thread: the thread limits allow it at once, the app's 50/s spreads them."""
    (count, window), = TEAMS_APP_LIMITS
    return ((k - 1) // count) * window


def throttled(connector: Connector, limit: int = 20) -> list[dict]:
    """The first 429s the stand-in answered: which thread (or the app), which limit, how long into the phase."""
    return [{"key": t.key, "limit": list(t.limit), "method": t.method, "retry_after": t.retry_after,
             "at": _r(t.at - connector.started)} for t in connector.throttled[:limit]]


def summary(values: list[float]) -> dict:
    """p50, p99, worst and count, in seconds."""
    return {"n": len(values), "p50": _r(percentile(values, 50)), "p99": _r(percentile(values, 99)),
            "worst": _r(max(values)) if values else None}


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------------------------------------- what arrived


@dataclass
class Thread:
    """One request's thread as the stand-in saw it."""

    sent_at: float = 0.0  # time.monotonic() when the bench posted the request
    posts: list[tuple[float, str]] = field(default_factory=list)  # (arrival, kind)
    updates: int = 0
    card_id: str = ""
    resolve: dict | None = None  # the card's self-service triage action data
    responded_at: float | None = None  # when support's reply was posted
    resolved: bool = False
    pages: int = 0  # 1:1 pages that list this request (gathered per person, several requests to a page)

    def first(self, kinds: tuple[str, ...] = ACKS) -> float | None:
        """When the first message of one of these kinds arrived."""
        return next((at for at, kind in self.posts if kind in kinds), None)

    def before_response(self) -> list[str]:
        """The kinds of the bot's messages in the thread before support answered (all of them if nobody did)."""
        until = self.responded_at if self.responded_at is not None else math.inf
        return [kind for at, kind in self.posts if at < until]


class Recorder:
    """Follows what the bot sends, as it arrives, into per-thread figures; keeps no message bodies."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.threads: dict[str, Thread] = {}
        self.channel: list[tuple[float, str, int]] = []  # new posts in #backend: (arrival, kind, requests linked)
        self.direct: list[float] = []  # 1:1 messages
        self._waiting: dict[tuple[str, str], asyncio.Future[float]] = {}
        connector.on_sent.append(self._arrived)

    def thread(self, thread: str) -> Thread:
        """The record of a thread (made on first use)."""
        return self.threads.setdefault(thread, Thread())

    def expect(self, thread: str, what: str = "ack") -> asyncio.Future[float]:
        """A future for the arrival of the thread's first acknowledgement ("ack") or card ("card")."""
        key = (thread, what)
        future = self._waiting.get(key)
        if future is None:
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
            seen = self.thread(thread).first(ACKS if what == "ack" else ("card",))
            if seen is not None:
                future.set_result(seen)
        return future

    def _arrived(self, sent: Sent) -> None:
        where = sent.conversation_id
        if sent.method == "PUT":
            record = self.thread(where)
            record.updates += 1
            if sent.body.get("attachments"):
                record.resolve = resolve_data(sent.body["attachments"][0]["content"]) or record.resolve
            return
        kind = kind_of(sent.body)
        if where.startswith("a:"):
            self.direct.append(sent.at)
            for place, root in _LINK.findall(sent.body.get("text") or ""):
                self.thread(f"{unquote(place)};messageid={root}").pages += 1
            return
        if where == BACKEND:
            self.channel.append((sent.at, kind, (sent.body.get("text") or "").count("parentMessageId=")))
            return
        record = self.thread(where)
        record.posts.append((sent.at, kind))
        if kind == "card" and not record.card_id:
            record.card_id = sent.new_id
            record.resolve = resolve_data(sent.body["attachments"][0]["content"])
        for what, kinds in (("ack", ACKS), ("card", ("card",))):
            future = self._waiting.pop((where, what), None) if kind in kinds else None
            if future is not None and not future.done():
                future.set_result(sent.at)

    def trim(self) -> None:
        """Forget the stand-in's own records of bodies and arrivals (the figures are here)."""
        self.connector.sent.clear()
        self.connector.arrivals.clear()
        self.connector.attempts.clear()


# ---------------------------------------------------------------------------------------------- processes


@dataclass
class Bot:
    """A bot under test, its enforcing stand-in and what the stand-in saw."""

    name: str
    url: str
    pid: int
    connector: Connector
    recorder: Recorder
    process: BotProcess | None = None  # ours; the echo bot is a bench.stack.Child
    azurite: Azurite | None = None  # ours: its own Table Storage
    prefix: str = ""


async def serve(app: web.Application, runners: list[web.AppRunner]) -> str:
    """Serve an app on a free loopback port; its base URL with a trailing slash."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runners.append(runner)
    return f"http://127.0.0.1:{port}/"


async def enforcing(runners: list[web.AppRunner]) -> tuple[Connector, Recorder]:
    """A fresh Connector stand-in that keeps Teams' limits (one per bot: each is its own app)."""
    connector = Connector(enforce_limits=True)
    connector.url = await serve(connector.app(), runners)
    connector.started = time.monotonic()  # type: ignore[attr-defined]  # for the report's times
    return connector, Recorder(connector)


@contextlib.asynccontextmanager
async def our_bot(phase: str, env: dict[str, str], sdk: str) -> AsyncIterator[Bot]:
    """Our bot (`python app.py`) on a fresh Azurite and its own enforcing stand-in, the e2e rotation seeded."""
    runners: list[web.AppRunner] = []
    azurite = Azurite()
    await asyncio.to_thread(azurite.start)
    process = None
    try:
        connector, recorder = await enforcing(runners)
        prefix = "rush" + uuid.uuid4().hex[:10]
        await seed_rotation(azurite.connection_string, prefix)
        log_path = RESULTS / f"rush_bot_{phase}.log"
        log_path.unlink(missing_ok=True)
        process = BotProcess({"ALLOW_UNAUTHENTICATED": "true", "TEAMS_SDK": sdk, "LOG_LEVEL": "WARNING",
                              "TABLES_CONNECTION_STRING": azurite.connection_string, "TABLE_PREFIX": prefix,
                              "SUPPORT_CONFIG": str(SUPPORT_ALWAYS), **env}, log_path)
        await asyncio.to_thread(process.start)
        yield Bot("ours", process.url, process.process.pid, connector, recorder, process, azurite, prefix)
    finally:
        if process is not None:
            await asyncio.to_thread(process.stop)  # in a thread: the stand-in keeps answering meanwhile
        for runner in runners:
            await runner.cleanup()
        await asyncio.to_thread(azurite.stop)


@contextlib.asynccontextmanager
async def echo_bot(sdk: str) -> AsyncIterator[Bot]:
    """The echo bot of the SDK on its own enforcing stand-in."""
    runners: list[web.AppRunner] = []
    port = free_port()
    child = spawn("rush_echo", [ECHO_BOTS[sdk], "--port", str(port)])
    try:
        child.wait_listening(port)
        connector, recorder = await enforcing(runners)
        yield Bot("echo", f"http://127.0.0.1:{port}", child.process.pid, connector, recorder)
    finally:
        await asyncio.to_thread(child.stop)
        for runner in runners:
            await runner.cleanup()


class Driver:
    """Posts Teams-shaped activities to a bot and acts as support in its threads."""

    def __init__(self, http: aiohttp.ClientSession, bot: Bot) -> None:
        self.http, self.bot = http, bot
        self.statuses: Counter[str] = Counter()

    async def _post(self, activity: dict) -> int | None:
        return (await self._exchange(activity))[0]

    async def _exchange(self, activity: dict) -> tuple[int | None, dict | None]:
        try:
            async with self.http.post(f"{self.bot.url}/api/messages", json=activity,
                                      timeout=aiohttp.ClientTimeout(total=20)) as answer:
                body = await answer.read()
                self.statuses[str(answer.status)] += 1
                try:
                    return answer.status, json.loads(body) if body else None
                except ValueError:
                    return answer.status, None
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            self.statuses[type(err).__name__] += 1
            return None, None

    def mention(self, text: str) -> dict:
        """A new thread in #backend from Olga Ops."""
        return activities.channel_mention(text, self.bot.connector.url, aad=OLGA, name="Olga Ops")

    async def request(self, activity: dict) -> str:
        """Post a request; its thread."""
        thread = activity["conversation"]["id"]
        self.bot.recorder.thread(thread).sent_at = time.monotonic()
        await self._post(activity)
        return thread

    async def respond(self, activity: dict, text: str = "Ich schaue es mir an.") -> None:
        """Dora (on support) answers in the request's thread: the first response."""
        record = self.bot.recorder.thread(activity["conversation"]["id"])
        record.responded_at = time.monotonic()
        await self._post(activities.thread_reply(activity, text, self.bot.connector.url, aad=DORA, name="Dora Dev"))

    async def resolve(self, thread: str) -> bool:
        """Dora triages the request as self-service on its card (it leaves the channel's open requests)."""
        record = self.bot.recorder.thread(thread)
        if record.resolve is None or record.resolved:
            return False
        record.resolved = True
        data = record.resolve
        for _ in range(4):
            click = activities.card_action("request.triage", dict(data), self.bot.connector.url,
                                           reply_to=record.card_id, aad=DORA, name="Dora Dev", conversation_id=thread)
            status, body = await self._exchange(click)
            card = (body or {}).get("value") if (body or {}).get("type") == "application/vnd.microsoft.card.adaptive" else None
            if status != 200 or card is None:
                return False
            if "Resolved" in json.dumps(card, ensure_ascii=False):
                return True
            # The card had changed meanwhile (support's answer, an escalation): the answer is the current one.
            data = resolve_data(card)
            if data is None:
                return False
        return False


async def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    """Poll until predicate() holds or the time is up; whether it held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


async def settle(bot: Bot, threads: list[str], timeout: float, quiet: float = 1.5) -> bool:
    """Wait (bounded) until every thread has its acknowledgement and, unless grouped, its card, every paged request
    is on a 1:1 page to each of the two on duty, and nothing arrived for `quiet` seconds."""
    recorder = bot.recorder

    def done() -> bool:
        records = [recorder.thread(t) for t in threads]
        if any(r.first() is None for r in records):
            return False
        if bot.name == "echo":
            return True
        paged = [r for r in records if r.first(("ack",)) is not None]
        return all(r.first(("card",)) is not None and r.pages >= 2 for r in paged)

    ok = await wait_for(done, timeout)

    def last() -> float:
        return max([recorder.direct[-1] if recorder.direct else 0.0, *(p[-1][0] for r in recorder.threads.values()
                                                                      if (p := r.posts))], default=0.0)

    await wait_for(lambda: time.monotonic() - last() >= quiet, timeout=max(quiet * 4, 10))
    return ok


# ---------------------------------------------------------------------------------------------- bursts


async def one_burst(driver: Driver, texts: list[str], timeout: float) -> dict:
    """Post len(texts) requests at once; per request the acknowledgement time and what came before it."""
    burst = [driver.mention(t) for t in texts]
    threads = [a["conversation"]["id"] for a in burst]
    futures = [driver.bot.recorder.expect(t) for t in threads]
    start = time.monotonic()
    await asyncio.gather(*(driver.request(a) for a in burst))
    await asyncio.wait(futures, timeout=timeout)
    settled = await settle(driver.bot, threads, timeout)
    records = [driver.bot.recorder.thread(t) for t in threads]
    acks = sorted(r.first() - start for r in records if r.first() is not None)
    behind = [r.posts[0][1] for r in records if r.posts and r.posts[0][1] not in ACKS]
    opening = [len([k for k in r.before_response() if k not in ESCALATIONS]) for r in records]
    late = [(k, t, allowed_at(k)) for k, t in enumerate(acks, 1) if t > allowed_at(k) + ACK_SLACK_SECONDS]
    return {
        "size": len(texts), "settled": settled, "acked": len(acks), "lost": len(texts) - len(acks),
        "ack_seconds": summary(acks), "kth_ack_seconds": [_r(t) for t in acks],
        "kth_over_allowed_plus_slack": [{"k": k, "at": _r(t), "allowed": a} for k, t, a in late],
        "worst_over_allowed": _r(max((t - allowed_at(k) for k, t in enumerate(acks, 1)), default=None)),
        "acks_behind_a_page_or_card": len(behind), "first_message_kinds_when_not_ack": Counter(behind),
        "grouped": sum(r.first(("grouped",)) is not None for r in records),
        "messages_before_response": dict(Counter(opening)), "max_messages_before_response": max(opening, default=0),
    }


async def resolve_all(driver: Driver, threads: list[str], timeout: float) -> int:
    """Support triages every carded request, so the next burst finds #backend without open requests."""
    by_thread = {t: driver.bot.recorder.thread(t) for t in threads}
    await wait_for(lambda: all(r.resolve is not None or r.first(("grouped",)) is not None for r in by_thread.values()),
                   timeout)
    return sum(await asyncio.gather(*(driver.resolve(t) for t in threads)))


async def bursts(http: aiohttp.ClientSession, args: argparse.Namespace) -> dict:
    """Bursts of each size, ours and the echo bot taking turns, ours resolved between them."""
    pool = distinct_pool()
    results: dict[str, dict] = {"ours": {}, "echo": {}}
    async with our_bot("bursts", {}, args.sdk) as ours, echo_bot(args.sdk) as echo:
        drivers = {"ours": Driver(http, ours), "echo": Driver(http, echo)}
        # Warm-up: each bot answers two requests in another channel first (the first turn pays for imports and clients).
        for driver in drivers.values():
            warm = [activities.channel_mention(f"warm-up {i}", driver.bot.connector.url, aad=OLGA, name="Olga Ops",
                                               channel="19:warmup0channel@thread.tacv2") for i in range(2)]
            for activity in warm:
                await driver.request(activity)
            await settle(driver.bot, [a["conversation"]["id"] for a in warm], 30)
        offset = 0
        for size in args.bursts:
            for run in range(args.repeats):
                texts = [pool[(offset + i) % len(pool)] for i in range(size)]
                offset += size
                for name, driver in drivers.items():
                    say(f"burst of {size} ({run + 1}/{args.repeats}): {name}")
                    figures = await one_burst(driver, texts, args.burst_timeout)
                    results[name].setdefault(str(size), []).append(figures)
                    if name == "ours":
                        # Support handles them all, so the next burst starts with no open requests in #backend.
                        threads = [t for t, r in ours.recorder.threads.items() if r.resolve is not None and not r.resolved]
                        figures["resolved_after"] = await resolve_all(driver, threads, args.burst_timeout)
                        await settle(ours, threads, args.burst_timeout)
        results["throttled"] = {name: len(d.bot.connector.throttled) for name, d in drivers.items()}
        results["throttled_first"] = {name: throttled(d.bot.connector) for name, d in drivers.items()}
        results["channel_overruns"] = {name: len(d.bot.connector.channel_overruns) for name, d in drivers.items()}
        results["http"] = {name: dict(d.statuses) for name, d in drivers.items()}
    return results


# ---------------------------------------------------------------------------------------------- the evening


@dataclass(frozen=True)
class Arrival:
    """One request of the replayed evening: when (simulated seconds from 16:00), what, and which incident."""

    at: float
    text: str
    incident: str = ""


def evening(hours: float, rate: float, seed: int) -> list[Arrival]:
    """A busy 16-18 h: the fixture's seven incidents, each incident's requests following its first within minutes
    (gaps exponential, mean 90 s), and unrelated requests as a Poisson process; `rate` requests per hour in all."""
    rng = random.Random(seed)
    length = hours * 3600
    arrivals = []
    for name, texts in INCIDENTS.items():
        at = rng.uniform(0, 0.9 * length)
        for text in texts:
            arrivals.append(Arrival(at, text, name))
            at += rng.expovariate(1 / 90)
    pool = distinct_pool()
    unrelated = max(0, round(rate * hours) - len(arrivals))
    if unrelated > len(pool):
        raise ValueError(f"--rate asks for {unrelated} unrelated requests; only {len(pool)} distinct ones exist")
    # A Poisson process with a given count over [0, length) has uniformly spread times.
    arrivals += [Arrival(rng.uniform(0, length), text) for text in rng.sample(pool, unrelated)]
    return sorted(arrivals, key=lambda a: a.at)


async def replay(http: aiohttp.ClientSession, args: argparse.Namespace) -> dict:
    """The evening, time-compressed, with support answering each paged request after an exponential delay."""
    rng = random.Random(args.seed + 1)
    arrivals = evening(args.hours, args.rate, args.seed)
    c = args.compress
    env = {"FIRST_RESPONSE_TARGET_SECONDS": str(max(1, round(300 / c))), "LEAD_ESCALATION_SECONDS": str(max(2, round(600 / c))),
           "JOB_POLL_MILLISECONDS": "200"}
    async with our_bot("replay", env, args.sdk) as ours:
        driver = Driver(http, ours)
        recorder = ours.recorder
        sent: list[tuple[Arrival, dict]] = []
        answering: list[asyncio.Task] = []
        posting: list[asyncio.Task] = []

        async def answer(activity: dict) -> None:
            thread = activity["conversation"]["id"]
            try:
                await asyncio.wait_for(recorder.expect(thread, "ack"), 60)
                if recorder.thread(thread).first(("grouped",)) is not None:
                    return  # the answer comes in the incident's first thread
                await asyncio.wait_for(recorder.expect(thread, "card"), 60)
            except asyncio.TimeoutError:
                return
            await asyncio.sleep(min(rng.expovariate(1 / args.answer_minutes), 3 * args.answer_minutes) * 60 / c)
            await driver.respond(activity)

        start = time.monotonic()
        say(f"replay: {len(arrivals)} requests over {args.hours:g} h, {c:g}x faster ({args.hours * 3600 / c:.0f} s)")
        for arrival in arrivals:
            await asyncio.sleep(max(0.0, start + arrival.at / c - time.monotonic()))
            activity = driver.mention(arrival.text)
            sent.append((arrival, activity))
            posting.append(asyncio.create_task(driver.request(activity)))
            answering.append(asyncio.create_task(answer(activity)))
        await asyncio.wait(posting + answering, timeout=120 + 3 * args.answer_minutes * 60 / c)
        threads = [a["conversation"]["id"] for _, a in sent]
        settled = await settle(ours, threads, 120)
        # Escalations still due land within the lead time and one digest bucket (10 s) after the last answer.
        await asyncio.sleep(int(env["LEAD_ESCALATION_SECONDS"]) + 12)
        backlog = Counter(j["kind"] for j in await pending_jobs(ours.azurite.connection_string, ours.prefix))
        records = [(arrival, recorder.thread(a["conversation"]["id"])) for arrival, a in sent]
        acks = [r.first() - r.sent_at for _, r in records if r.first() is not None]
        grouped = [(arrival, r) for arrival, r in records if r.first(("grouped",)) is not None]
        paged = [(arrival, r) for arrival, r in records if r.first(("ack",)) is not None]
        before = [len(r.before_response()) for _, r in paged]
        opening = [len([k for k in r.before_response() if k not in ESCALATIONS]) for _, r in paged]
        result = {
            "requests": len(arrivals), "incident_requests": sum(bool(a.incident) for a in arrivals),
            "settled": settled, "acked": len(acks), "lost": len(arrivals) - len(acks), "ack_seconds": summary(acks),
            "grouped": len(grouped), "grouped_messages": dict(Counter(len(r.posts) for _, r in grouped)),
            "grouped_by_incident": dict(Counter(a.incident or "(unrelated)" for a, _ in grouped)),
            "paged": len(paged),
            "messages_before_response": dict(Counter(before)), "max_messages_before_response": max(before, default=0),
            "opening_messages": dict(Counter(opening)), "max_opening_messages": max(opening, default=0),
            "answered_after_target": sum(any(k in ESCALATIONS for k in r.before_response()) for _, r in paged),
            "escalations_in_threads": sum(k in ESCALATIONS for _, r in records for _, k in r.posts),
            "digests": [{"kind": kind, "requests": n} for _, kind, n in recorder.channel],
            "direct_messages": len(recorder.direct), "throttled": len(ours.connector.throttled),
            "throttled_first": throttled(ours.connector),
            "channel_overruns": len(ours.connector.channel_overruns), "http": dict(driver.statuses),
            "jobs_waiting_at_the_end": dict(backlog), "bot_env": env,
        }
    return result


# ---------------------------------------------------------------------------------------------- the soak


def soak_text(pool: list[str], i: int) -> str:
    """Two unrelated requests in one message, paired differently each time: no text repeats within len(pool)**2
    requests, so few soak requests look like an open one (a plain cycle through the pool would group nearly all)."""
    n = len(pool)
    first, second = i % n, (i % n + 1 + (i // n) % (n - 1)) % n
    return f"{pool[first]}. Und: {pool[second]}"


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys over xs."""
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else None


async def soak(http: aiohttp.ClientSession, args: argparse.Namespace) -> dict:
    """`--soak` requests from `--clients` closed-loop clients; support answers some in the thread, lets the others
    escalate, and resolves every carded one; every `--block` acknowledged requests, throughput and the bot's RSS."""
    env = {"FIRST_RESPONSE_TARGET_SECONDS": "2", "LEAD_ESCALATION_SECONDS": "4", "JOB_POLL_MILLISECONDS": "200"}
    rng = random.Random(args.seed + 2)
    pool = distinct_pool()
    async with our_bot("soak", env, args.sdk) as ours:
        driver = Driver(http, ours)
        recorder = ours.recorder
        bot_process = psutil.Process(ours.pid)
        storage_process = psutil.Process(ours.azurite.process.pid)
        storage_cpu_start = sum(storage_process.cpu_times()[:2])
        follow_ups: set[asyncio.Task] = set()
        counter = iter(range(args.soak))
        handled = 0
        timeouts = 0
        blocks: list[dict] = []
        block_start = time.monotonic()
        cpu_start = sum(bot_process.cpu_times()[:2])
        sent_direct = escalations = 0

        async def follow_up(activity: dict, answered: bool) -> None:
            thread = activity["conversation"]["id"]
            if recorder.thread(thread).first(("grouped",)) is not None:
                return  # grouped into an open incident: no card of its own
            try:
                await asyncio.wait_for(recorder.expect(thread, "card"), 60)
            except asyncio.TimeoutError:
                return
            if answered:
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                await driver.respond(activity)
            else:
                await asyncio.sleep(max(0.0, recorder.thread(thread).sent_at + UNANSWERED_FOR - time.monotonic()))
            await driver.resolve(thread)

        def block_done(n: int) -> None:
            nonlocal block_start, cpu_start, sent_direct, escalations, storage_cpu_start
            now = time.monotonic()
            cpu = sum(bot_process.cpu_times()[:2])
            storage_cpu = sum(storage_process.cpu_times()[:2])
            esc = sum(1 for r in recorder.threads.values() for _, k in r.posts if k in ESCALATIONS) + \
                sum(1 for _, k, _ in recorder.channel if k in ESCALATIONS)
            blocks.append({
                "requests": n, "seconds": round(now - block_start, 2),
                "handled_per_s": round(args.block / (now - block_start), 2),
                "rss_mb": round(bot_process.memory_info().rss / 2 ** 20, 1),
                "bot_cpu_ms_per_request": round(1000 * (cpu - cpu_start) / args.block, 1),
                "azurite_cpu_ms_per_request": round(1000 * (storage_cpu - storage_cpu_start) / args.block, 1),
                "azurite_rss_mb": round(storage_process.memory_info().rss / 2 ** 20, 1),
                "direct_messages": len(recorder.direct) - sent_direct, "escalations": esc - escalations,
                "follow_ups_running": len(follow_ups), "throttled_so_far": len(ours.connector.throttled),
            })
            say(f"soak: {n} acknowledged, {blocks[-1]['handled_per_s']}/s, RSS {blocks[-1]['rss_mb']} MB, "
                f"{blocks[-1]['bot_cpu_ms_per_request']} ms CPU per request")
            block_start, cpu_start, storage_cpu_start = now, cpu, storage_cpu
            sent_direct, escalations = len(recorder.direct), esc
            recorder.trim()

        async def client() -> None:
            nonlocal handled, timeouts
            for i in counter:
                if args.soak_rate:
                    # Open loop: request i is due i / rate seconds after the start, whatever the bot does.
                    await asyncio.sleep(max(0.0, started + i / args.soak_rate - time.monotonic()))
                activity = driver.mention(soak_text(pool, i))
                future = recorder.expect(activity["conversation"]["id"])
                await driver.request(activity)
                try:
                    await asyncio.wait_for(future, 30)
                except asyncio.TimeoutError:
                    timeouts += 1
                    continue
                task = asyncio.create_task(follow_up(activity, rng.random() < args.answered))
                follow_ups.add(task)
                task.add_done_callback(follow_ups.discard)
                handled += 1
                if handled % args.block == 0:
                    block_done(handled)

        started = time.monotonic()
        clients = max(args.clients, math.ceil(args.soak_rate * 10)) if args.soak_rate else args.clients
        say(f"soak: {args.soak} requests from {clients} clients" + (f" at {args.soak_rate:g}/s" if args.soak_rate else ""))
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.monotonic() - started
        if follow_ups:
            await asyncio.wait(set(follow_ups), timeout=60)
        backlog = Counter(j["kind"] for j in await pending_jobs(ours.azurite.connection_string, ours.prefix))
        rss = [b["rss_mb"] for b in blocks]
        later = blocks[1:]
        grew = slope([b["requests"] / 1000 for b in later], [b["rss_mb"] for b in later])
        result = {
            "requests": args.soak, "acknowledged": handled, "ack_timeouts": timeouts, "seconds": round(wall, 1),
            "handled_per_s": round(handled / wall, 2), "blocks": blocks,
            "rss_mb_max": max(rss, default=None), "rss_slope_mb_per_1000_after_first": _r(grew, 2),
            "throughput_first_last": [blocks[0]["handled_per_s"], blocks[-1]["handled_per_s"]] if blocks else None,
            "throughput_second_last": [blocks[1]["handled_per_s"], blocks[-1]["handled_per_s"]] if len(blocks) > 1 else None,
            "jobs_waiting_at_the_end": dict(backlog),
            "throttled": len(ours.connector.throttled), "throttled_first": throttled(ours.connector),
            "channel_overruns": len(ours.connector.channel_overruns), "http": dict(driver.statuses), "bot_env": env,
            "answered_share": args.answered,
        }
    return result


# ---------------------------------------------------------------------------------------------- report


def targets(result: dict) -> list[dict]:
    """Each of the issue's targets, MET or not, with the figure."""
    found = []
    b = result.get("bursts")
    if b:
        for size in map(str, result["params"]["bursts"]):
            ours, echo = b["ours"][size], b["echo"][size]
            lost = sum(r["lost"] for r in ours)
            behind = sum(r["acks_behind_a_page_or_card"] for r in ours)
            worst_over = max(r["worst_over_allowed"] or 0 for r in ours)
            worst = max(r["ack_seconds"]["worst"] or 0 for r in ours)
            p50 = statistics.median(r["ack_seconds"]["p50"] for r in ours)
            echo_p50 = statistics.median(r["ack_seconds"]["p50"] for r in echo)
            most = max(r["max_messages_before_response"] for r in ours)
            found += [
                {"name": f"burst {size}: no acknowledgement lost", "value": lost, "met": lost == 0},
                {"name": f"burst {size}: no acknowledgement behind a page or card", "value": behind, "met": behind == 0},
                {"name": f"burst {size}: k-th ack within Teams' allowance for k + {ACK_SLACK_SECONDS} s",
                 "value": f"worst {worst_over:.2f} s over", "met": worst_over <= ACK_SLACK_SECONDS},
                {"name": f"burst {size}: every ack within {BURST_ALL_SECONDS} s", "value": f"{worst:.2f} s",
                 "met": worst <= BURST_ALL_SECONDS},
                {"name": f"burst {size}: median ack at most {MEDIAN_RATIO_LIMIT}x the echo bot's",
                 "value": f"{p50:.3f} / {echo_p50:.3f} s = {p50 / echo_p50:.2f}x" if echo_p50 else None,
                 "met": bool(echo_p50) and p50 <= MEDIAN_RATIO_LIMIT * echo_p50},
                {"name": f"burst {size}: at most {MESSAGES_BEFORE_RESPONSE} channel messages before a response",
                 "value": most, "met": most <= MESSAGES_BEFORE_RESPONSE},
            ]
        throttled = b["throttled"]["ours"]
        found.append({"name": "bursts: no 429", "value": throttled, "met": throttled == 0})
    r = result.get("replay")
    if r:
        grouped_ok = {str(k) for k in r["grouped_messages"]} <= {"1"}
        found += [
            {"name": "evening: no acknowledgement lost", "value": r["lost"], "met": r["lost"] == 0},
            {"name": "evening: no 429", "value": r["throttled"], "met": r["throttled"] == 0},
            {"name": f"evening: at most {MESSAGES_BEFORE_RESPONSE} channel messages before the first response "
                     "(escalations, due after the target, counted apart)",
             "value": f"{r['max_opening_messages']} (with escalations: {r['max_messages_before_response']})",
             "met": r["max_opening_messages"] <= MESSAGES_BEFORE_RESPONSE},
            {"name": "evening: a grouped request gets exactly 1 message", "value": r["grouped_messages"], "met": grouped_ok},
        ]
    s = result.get("soak")
    if s and s["blocks"]:
        first, last = s["throughput_first_last"]
        found += [
            {"name": f"soak: RSS below {RSS_LIMIT_MB:g} MB", "value": s["rss_mb_max"], "met": s["rss_mb_max"] < RSS_LIMIT_MB},
            {"name": f"soak: no upward RSS trend after the first 1,000 (slope < {RSS_SLOPE_LIMIT_MB:g} MB per 1,000)",
             "value": s["rss_slope_mb_per_1000_after_first"],
             "met": s["rss_slope_mb_per_1000_after_first"] is not None
             and s["rss_slope_mb_per_1000_after_first"] < RSS_SLOPE_LIMIT_MB},
            {"name": f"soak: throughput at the end within {THROUGHPUT_DROP_LIMIT:.0%} of the start",
             "value": f"{first} -> {last} /s", "met": last >= (1 - THROUGHPUT_DROP_LIMIT) * first},
            {"name": "soak: no 429", "value": s["throttled"], "met": s["throttled"] == 0},
        ]
    return found


def table(result: dict) -> list[str]:
    """The figures as Markdown."""
    rows = []
    b = result.get("bursts")
    if b:
        rows += ["| burst | bot | ack p50 / p99 / worst s | worst over Teams' allowance s | acks behind a page/card | "
                 "lost | messages before a response | 429 |", "|" + " --- |" * 8]
        for size in map(str, result["params"]["bursts"]):
            for name in ("ours", "echo"):
                runs = b[name][size]
                p50 = statistics.median(r["ack_seconds"]["p50"] for r in runs)
                p99 = max(r["ack_seconds"]["p99"] for r in runs)
                worst = max(r["ack_seconds"]["worst"] for r in runs)
                over = max(r["worst_over_allowed"] for r in runs)
                messages = Counter()
                for r in runs:
                    messages.update(r["messages_before_response"])
                rows.append(f"| {size} x{len(runs)} | {name} | {p50:.3f} / {p99:.3f} / {worst:.3f} | {over:.3f} | "
                            f"{sum(r['acks_behind_a_page_or_card'] for r in runs)} | {sum(r['lost'] for r in runs)} | "
                            f"{dict(sorted(messages.items()))} | {b['throttled'][name]} |")
    r = result.get("replay")
    if r:
        a = r["ack_seconds"]
        rows += ["", "| evening | value |", "| --- | --- |",
                 f"| requests (of them in incidents) | {r['requests']} ({r['incident_requests']}) |",
                 f"| ack p50 / p99 / worst s | {a['p50']} / {a['p99']} / {a['worst']} |",
                 f"| acknowledged / lost | {r['acked']} / {r['lost']} |",
                 f"| grouped into incidents (messages each) | {r['grouped']} ({r['grouped_messages']}) |",
                 f"| paged: channel messages before the first response (without escalations) | "
                 f"{r['messages_before_response']} ({r['opening_messages']}) |",
                 f"| paged: answered after the target | {r['answered_after_target']} |",
                 f"| escalations in threads / digests in the channel | {r['escalations_in_threads']} / "
                 f"{len(r['digests'])} listing {sum(d['requests'] for d in r['digests'])} |",
                 f"| 1:1 messages | {r['direct_messages']} |",
                 f"| 429 / per-channel overruns (not enforced) | {r['throttled']} / {r['channel_overruns']} |",
                 f"| jobs waiting at the end | {r['jobs_waiting_at_the_end']} |"]
    s = result.get("soak")
    if s:
        rows += ["", "| soak: acknowledged | s | handled/s | RSS MB | bot CPU ms/request | Azurite CPU ms/request | "
                 "Azurite RSS MB | 1:1 sent | escalations |", "|" + " --- |" * 9]
        rows += [f"| {x['requests']} | {x['seconds']} | {x['handled_per_s']} | {x['rss_mb']} | "
                 f"{x['bot_cpu_ms_per_request']} | {x['azurite_cpu_ms_per_request']} | {x['azurite_rss_mb']} | "
                 f"{x['direct_messages']} | {x['escalations']} |" for x in s["blocks"]]
        rows += [f"| jobs waiting at the end | {s['jobs_waiting_at_the_end']} |"]
    rows += ["", "| target | value | |", "| --- | --- | --- |"]
    rows += [f"| {t['name']} | {t['value']} | {'MET' if t['met'] else 'NOT MET'} |" for t in result["targets"]]
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Flags; --quick shrinks whatever was not given."""
    parser = argparse.ArgumentParser(prog="python -m bench.rush", description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="bursts,replay,soak", help="which phases to run (default all three)")
    parser.add_argument("--bursts", help="burst sizes (default 10,30)")
    parser.add_argument("--repeats", type=int, help="bursts of each size (default 3; quick 1)")
    parser.add_argument("--burst-timeout", type=float, default=60.0, help="cap on waiting for one burst (s)")
    parser.add_argument("--hours", type=float, help="simulated length of the evening (default 2; quick 0.34)")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per simulated hour (default 40)")
    parser.add_argument("--compress", type=float, default=60.0, help="simulated seconds per real second (default 60)")
    parser.add_argument("--answer-minutes", type=float, default=4.0, help="support's mean time to answer (simulated)")
    parser.add_argument("--soak", type=int, help="requests in the soak (default 10000; quick 600)")
    parser.add_argument("--block", type=int, help="report the soak every N requests (default 1000; quick 100)")
    parser.add_argument("--clients", type=int, default=4, help="closed-loop clients in the soak (default 4)")
    parser.add_argument("--soak-rate", type=float, default=0.0,
                        help="soak requests per second, open loop (default 0: as fast as --clients closed-loop clients go)")
    parser.add_argument("--answered", type=float, default=0.6, help="share of soak requests support answers in time")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--sdk", choices=sorted(ECHO_BOTS), default="botbuilder")
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run")
    parser.add_argument("--output", type=Path, help="where the JSON goes (default bench/results/rush.json)")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    args.bursts = [int(x) for x in (args.bursts or "10,30").split(",")]
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.hours = args.hours or (0.34 if args.quick else 2.0)
    args.soak = args.soak or (600 if args.quick else 10000)
    args.block = args.block or (100 if args.quick else 1000)
    args.output = args.output or RESULTS / ("rush_quick.json" if args.quick else "rush.json")
    if not set(args.phases) <= {"bursts", "replay", "soak"} or args.soak < args.block:
        parser.error("--phases takes bursts, replay, soak; --soak must be at least --block")
    return args


def uptime() -> str:
    """`uptime`, as the machine's load at that moment."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return ""


async def run(args: argparse.Namespace) -> dict:
    """Each phase in turn, on its own bot, Azurite and stand-in."""
    result: dict = {}
    limit = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=limit) as http:
        for phase, work in (("bursts", bursts), ("replay", replay), ("soak", soak)):
            if phase in args.phases:
                started = time.monotonic()
                result[phase] = await work(http, args)
                result[phase]["wall_seconds"] = round(time.monotonic() - started, 1)
                result[phase]["uptime_after"] = uptime()
    return result


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON."""
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    before = uptime()
    # SIGTERM stops the bench as Ctrl-C does: the bots, Azurite and the echo bot are stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        figures = asyncio.run(run(args))
    except (RuntimeError, TimeoutError, OSError, KeyboardInterrupt) as err:
        print(f"bench failed: {err}", file=sys.stderr)
        return 1
    result = {
        "benchmark": "rush", "started_at": started, **git_state(), "machine": machine(),
        "uptime_before": before, "uptime_after": uptime(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "limits": {"thread": TEAMS_THREAD_LIMITS, "app": TEAMS_APP_LIMITS},
        "definitions": {
            "ack": "the first acknowledgement in the request's thread (ours: 'Thanks <at>…', grouped or not; echo: 'Echo: …')",
            "ack_seconds": "bursts: from posting the burst; evening: from posting the request; until the ack reached the stand-in",
            "allowed": "the earliest second Teams' limits let the k-th ack of a burst out (each the first message of its "
                       "own thread: at once, 50 a second for the app)",
            "messages_before_response": "the bot's messages in the request's thread before support's first answer "
                                        "(all of them when nobody answered); bursts: escalations excluded (none fall due)",
            "channel_overruns": "sends a per-channel reading of the thread limits would have refused (not enforced)",
        },
        **figures,
    }
    result["targets"] = targets(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(table(result)))
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
