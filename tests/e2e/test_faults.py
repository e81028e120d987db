"""Nothing lost, nothing stuck: a fixed mix of #backend requests and Bugsnag webhooks through compact fault schedules.

Each run (tests/support/faults.py) sends 8 support requests (one of them repeating the problem of the one
before, so it joins that incident) and 30 webhooks for 3 errors over about 8 s to real bots (`python app.py`)
while a schedule (tests/support/schedule.py) breaks the Bot Connector, Jira, Table Storage or the bots
themselves, waits until everything has settled, and measures from what the Connector and Jira received. The
targets: every request acknowledged once, and, unless grouped into an incident, paged (the acknowledgement is the
page), carded, written to 1:1 and escalated (in its thread or in a channel digest); every error carded with all
its webhooks counted; every bug filed once; no 5xx; page and card within 20 s of a crash; no job looping; and
every duplicate explained by a fault that makes it unavoidable.

On failure the whole report is printed (and written to report.json in the test's tmp_path).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time

import aiohttp
import pytest

from tests.support.connector import ACTIVITIES_PATH
from tests.support.faults import ALERTS, FaultRun, Mix, Plan, render
from tests.support.jira import Jira
from tests.support.processes import Azurite, BotProcess
from tests.support.schedule import (
    ANY_THREAD,
    CREATE_CHAT,
    ONE_TO_ONE,
    ConnectorFault,
    FaultSchedule,
    JiraFault,
    JiraLostAnswers,
    JiraSearchLag,
    KillAfterAck,
    KillBot,
    StopStorage,
    World,
    channel_path,
    random_kills,
    thread_path,
)

BACKEND = "19:backend0channel0id@thread.tacv2"  # the channel of tests/fixtures/teams/channel_mention.json
MIX = Mix(requests=8, webhooks=30, errors=3, seconds=8.0, bugs=2)
ALL = ("nothing_lost", "nothing_stuck", "no_5xx", "no_job_loops", "duplicates_explained")


async def drive(tmp_path, plan: Plan, azurite: Azurite | None = None) -> dict:
    """Run the plan; print its table (shown when the test fails) and keep the report next to the bots' logs."""
    report = await FaultRun(plan, tmp_path, azurite).run()
    (tmp_path / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(render(report))
    return report


def assert_met(report: dict, *targets: str) -> None:
    """Every named target met; otherwise the whole table as the message."""
    missed = [name for name in targets if report["targets"][name]["met"] is not True]
    assert not missed, f"not met: {', '.join(missed)}\n\n{render(report)}"


# ---------------------------------------------------------------------------------------------- the stand-ins


async def test_connector_faults_apply_in_their_window_and_are_logged(connector):
    connector.fail_for(0.4, method="POST", path=ACTIVITIES_PATH, status=503)
    connector.fail(1, method="POST", path=ACTIVITIES_PATH, mode="lose", after=time.monotonic() + 0.5)
    seen = []
    connector.on_sent.append(seen.append)
    url = f"{connector.url}v3/conversations/19:x@thread.tacv2/activities"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"type": "message", "text": "in the window"}) as answer:
            assert answer.status == 503
        await asyncio.sleep(0.6)
        with pytest.raises(aiohttp.ClientError):
            async with http.post(url, json={"type": "message", "text": "answer lost"}) as answer:
                await answer.read()
        async with http.post(url, json={"type": "message", "text": "fine again"}) as answer:
            assert answer.status == 201
    assert [s.body["text"] for s in connector.sent] == ["answer lost", "fine again"]
    assert [s.answer_lost for s in connector.sent] == [True, False] and seen == connector.sent
    assert [(f.mode, f.status) for f in connector.faulted] == [("answer", 503), ("lose", None)]
    assert len(connector.arrivals) == 3


async def test_jira_windows_lost_answers_and_search_lag_in_seconds(jira: Jira):
    jira.fail_for(0.3, status=429, retry_after="2")
    jira.search_lag_seconds = 1.5
    jira.lose_next_creates(2)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{jira.email}:{jira.api_token}".encode()).decode()}
    fields = {"project": {"key": "EDGE"}, "summary": "s", "issuetype": {"name": "Bug"}, "labels": ["supportbot-1"]}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.post(f"{jira.url}/rest/api/3/issue", json={"fields": fields}) as answer:
            assert answer.status == 429 and answer.headers["Retry-After"] == "2"
        await asyncio.sleep(0.35)
        for _ in range(2):
            with pytest.raises(aiohttp.ClientError):
                async with http.post(f"{jira.url}/rest/api/3/issue", json={"fields": fields}) as answer:
                    await answer.read()

        async def found() -> int:
            async with http.get(f"{jira.url}/rest/api/3/search/jql", params={"jql": 'labels = "supportbot-1"'}) as answer:
                return len((await answer.json())["issues"])

        assert await found() == 0  # Jira's index has not caught up yet
        await asyncio.sleep(1.6)
        assert await found() == 2
    assert len(jira.labelled("supportbot-1")) == 2
    assert [what for _, _, _, what in jira.faulted] == ["window: 429", "lost the answer to EDGE-1", "lost the answer to EDGE-2"]


async def test_azurite_on_disk_keeps_its_data_across_a_sigint_restart(tmp_path):
    from azure.data.tables.aio import TableServiceClient

    azurite = Azurite(location=tmp_path / "azurite").start()
    try:
        async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
            table = await service.create_table_if_not_exists("faultcheck")
            for n in range(10):
                await table.create_entity({"PartitionKey": "p", "RowKey": str(n)})  # within Azurite's 5 s autosave
            port = azurite.port
            await asyncio.to_thread(azurite.restart, 0.5)
            assert azurite.port == port
            assert len([e async for e in table.list_entities()]) == 10
    finally:
        azurite.stop()


async def test_a_sigkilled_bot_starts_again_on_the_same_tables_and_port(tmp_path, storage_env, http):
    bot = await asyncio.to_thread(BotProcess({"ALLOW_UNAUTHENTICATED": "true", **storage_env}, tmp_path / "bot.log").start)
    try:
        port = bot.port
        bot.kill()
        assert not bot.alive()
        with pytest.raises(aiohttp.ClientConnectorError):
            async with http.get(f"{bot.url}/healthz"):
                pass
        await asyncio.to_thread(bot.restart)
        async with http.get(f"{bot.url}/healthz") as answer:
            assert answer.status == 200 and bot.port == port
    finally:
        await asyncio.to_thread(bot.stop)


async def test_the_schedule_applies_each_fault_at_its_time(connector, jira):
    world = World(connector, jira)
    schedule = FaultSchedule([JiraFault(at=0.3, times=1, status=503),
                              ConnectorFault(at=0.1, seconds=1, path=ANY_THREAD, status=429, retry_after="2")])
    await schedule.start(world)
    await world.drain()
    (first, _), (second, _) = schedule.applied
    assert 0.1 <= first < second and 0.3 <= second < 0.8
    assert schedule.applied[0][1].startswith("Connector, for 1 s, all requests to ") and "429 Retry-After: 2" in schedule.applied[0][1]
    assert connector.failures[0].until - connector.failures[0].after == pytest.approx(1.0, abs=0.05)
    assert [e.kind for e in world.events] == ["fault", "fault"]


# ---------------------------------------------------------------------------------------------- the runs


async def test_teams_throttling_and_server_errors_lose_nothing(tmp_path, azurite):
    """429 with Retry-After, 412, 502 and 503 windows: everything arrives once, if late."""
    plan = Plan(MIX, faults=[
        ConnectorFault(at=0, seconds=5, method="POST", path=channel_path(ALERTS), status=503, label="the alert channel"),
        ConnectorFault(at=1.5, times=3, path=ANY_THREAD, status=429, retry_after="2", label="any thread"),
        ConnectorFault(at=3, times=2, method="PUT", status=412, label="card updates"),
        ConnectorFault(at=3.5, times=2, path=ONE_TO_ONE, status=502, label="1:1 chats"),
        ConnectorFault(at=5, seconds=5, method="POST", path=thread_path(BACKEND), status=503, label="#backend threads"),
    ])
    report = await drive(tmp_path, plan, azurite)
    assert report["connector"]["faulted"] > 0
    assert_met(report, *ALL)


async def test_timeouts_resets_and_lost_answers_are_sent_again_and_counted(tmp_path, azurite):
    """A hang (the bot's 15 s timeout), dropped connections, and answers lost after Teams took the message."""
    plan = Plan(MIX, settle_seconds=35, faults=[
        ConnectorFault(at=0, times=1, path=CREATE_CHAT, mode="reset", label="new 1:1 chats"),
        ConnectorFault(at=0.5, times=1, method="POST", path=channel_path(ALERTS), mode="lose", label="the alert channel"),
        ConnectorFault(at=1.5, times=2, path=ANY_THREAD, mode="lose", label="any thread"),
        ConnectorFault(at=3, times=1, path=ONE_TO_ONE, mode="reset", label="1:1 chats"),
        ConnectorFault(at=4, times=1, path=ONE_TO_ONE, mode="hang", hang=16, label="1:1 chats"),
        ConnectorFault(at=5, times=1, method="PUT", mode="hang", hang=16, label="card updates"),
    ])
    report = await drive(tmp_path, plan, azurite)
    assert report["connector"]["answers_lost"] >= 1
    assert_met(report, *ALL)


async def test_jira_faults_file_each_bug_once(tmp_path, azurite):
    """Jira throttles, loses the answers to two creates, lags in search and goes down: one ticket per bug."""
    plan = Plan(Mix(requests=8, webhooks=6, errors=2, seconds=6.0, bugs=4), faults=[
        JiraSearchLag(at=0, seconds=1.5),  # shorter than the bots' JIRA_RETRY_SECONDS (3)
        JiraFault(at=0, times=2, status=429, retry_after="1"),
        JiraLostAnswers(at=0, times=2),
        JiraFault(at=4, seconds=4, status=503),
    ])
    report = await drive(tmp_path, plan, azurite)
    assert report["jira"]["bugs"] == 4 and report["jira"]["faulted"] >= 3
    assert report["jira"]["tickets"] == 4, render(report)
    assert_met(report, *ALL)


async def test_a_bot_killed_right_after_an_ack_pages_within_20_s(tmp_path, azurite):
    """SIGKILL the moment an acknowledgement is out, and once more at a random moment; the bot restarts."""
    plan = Plan(MIX, settle_seconds=25, faults=[
        KillAfterAck(at=1.5, bot=0, down=2.0),
        *random_kills(random.Random(11), 5.0, 8.0, 1, bots=1, down=(1.0, 2.0)),
    ])
    report = await drive(tmp_path, plan, azurite)
    assert report["kills"] == 2 and any(c["armed"] and c["acked"] for c in report["crash_to_page"])
    assert_met(report, "paged_within_20s_of_a_crash", *ALL)


async def test_table_storage_stopped_and_restarted_mid_flow(tmp_path):
    """Azurite (on disk) stopped with SIGINT for 4 s and started again on the same port: nothing lost."""
    plan = Plan(MIX, faults=[StopStorage(at=3, seconds=4)])
    report = await drive(tmp_path, plan)
    assert [e["kind"] for e in report["events"]] == ["storage_down", "storage_up"]
    assert report["alerts"]["accepted"] == MIX.webhooks  # a 503 while storage is down is delivered again
    assert_met(report, *ALL)


async def test_two_instances_on_the_same_tables_through_crashes_and_an_outage(tmp_path):
    """Both bots take traffic; one is killed after an ack, the other while storage is down (its restart waits)."""
    plan = Plan(MIX, instances=2, settle_seconds=25, faults=[
        KillAfterAck(at=1.5, bot=0, down=1.5),
        ConnectorFault(at=2, times=2, mode="lose", label="any conversation"),
        ConnectorFault(at=2.5, times=3, path=ANY_THREAD, status=429, retry_after="1", label="any thread"),
        StopStorage(at=4, seconds=3),
        KillBot(at=4.5, bot=1, down=1.0),
        JiraFault(at=5, times=1, status=502),
    ])
    report = await drive(tmp_path, plan)
    assert report["kills"] == 2
    assert_met(report, "paged_within_20s_of_a_crash", *ALL)
