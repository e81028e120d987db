"""Microsoft Graph through msal against loopback Entra ID and Graph stand-ins, with the roster and absences in Azurite."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date
from typing import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from bot.domain.members import Member, Role
from bot.domain.planning import Absence
from bot.domain.retry import RetryPolicy
from bot.integrations.graph import (
    GraphClient,
    GraphConfig,
    GraphForbidden,
    GraphSignInFailed,
    GraphUnavailable,
    GraphUser,
)
from bot.services.directory import import_outlook_absences, sync_roster
from bot.storage.absences import TableAbsenceRepository
from bot.storage.members import TableMemberRepository
from tests.conftest import serve
from tests.support.graph import Entra, Graph, LoginRedirect

BERLIN = ZoneInfo("Europe/Berlin")
TEAM = "a1b2c3d4-0000-4000-8000-00000000team"
DORA = "6a1f2e8c-0000-4000-8000-00000000d001"
EVE = "6a1f2e8c-0000-4000-8000-00000000e002"
FINN = "6a1f2e8c-0000-4000-8000-00000000f003"
GUS = "6a1f2e8c-0000-4000-8000-00000000a004"
HAL = "6a1f2e8c-0000-4000-8000-00000000b005"
# Quick backoff so outage tests stay fast; Retry-After still wins up to the cap.
FAST = RetryPolicy(attempts=3, base=0.01, cap=2.0, budget=3.0)


@pytest.fixture
async def entra() -> AsyncIterator[Entra]:
    """A running Entra ID stand-in."""
    stand_in = Entra()
    runner, stand_in.url = await serve(stand_in.app())
    yield stand_in
    await runner.cleanup()


@pytest.fixture
async def graph(entra: Entra) -> AsyncIterator[Graph]:
    """A running Graph stand-in with a team of five users, two to a page."""
    stand_in = Graph(entra)
    runner, stand_in.url = await serve(stand_in.app())
    for user_id, name in ((DORA, "Dora Dev"), (EVE, "Eve Ops"), (FINN, "Finn Front"), (GUS, "Gus Guest"), (HAL, "Hal Back")):
        stand_in.add_user(user_id, name, mail=f"{name.split()[0].lower()}@liefery.example", group=TEAM)
    yield stand_in
    await runner.cleanup()


def config_for(entra: Entra, graph: Graph, **changes: str | None) -> GraphConfig:
    """The app registration the stand-ins know, with Graph on loopback."""
    config = GraphConfig(entra.tenant_id, entra.client_id, entra.client_secret, graph_url=graph.url)
    return replace(config, **changes)


@pytest.fixture
async def client(entra: Entra, graph: Graph) -> AsyncIterator[GraphClient]:
    """A Graph client signing in through the login stand-in; closed after the test."""
    graph_client = GraphClient(config_for(entra, graph), login_session=LoginRedirect(entra.url), retry=FAST)
    yield graph_client
    await graph_client.close()


# --- The client --------------------------------------------------------------------------------------------


async def test_one_token_serves_many_calls(entra: Entra, graph: Graph, client: GraphClient) -> None:
    await client.team_members(TEAM)
    for user in (DORA, EVE, FINN):
        await client.automatic_replies(user)

    assert entra.token_requests == 1
    assert entra.discovery_requests == 1
    tokens = {r.authorization for r in graph.received}
    assert len(graph.received) == 6 and len(tokens) == 1
    assert tokens.pop() in {f"Bearer {t}" for t in entra.issued}


async def test_members_come_from_every_page(graph: Graph, client: GraphClient) -> None:
    graph.other_members[TEAM] = [{"@odata.type": "#microsoft.graph.group", "id": "nested-group", "displayName": "Ops"}]

    members = await client.team_members(TEAM)

    assert [m.id for m in members] == [DORA, EVE, FINN, GUS, HAL]
    assert members[0] == GraphUser(DORA, "Dora Dev", "dora@liefery.example")
    pages = graph.requests_to("/members")
    assert len(pages) == 3
    assert "$skiptoken" not in pages[0].query and all("$skiptoken" in p.query for p in pages[1:])


async def test_a_user_without_mail_is_known_by_their_principal_name(graph: Graph, client: GraphClient) -> None:
    graph.users[EVE]["mail"] = None

    members = {m.id: m for m in await client.team_members(TEAM)}

    assert members[EVE].email == "eve.ops@liefery.example"


async def test_automatic_replies_are_read_as_aware_datetimes(graph: Graph, client: GraphClient) -> None:
    graph.schedule(DORA, "2025-10-19T22:00:00.0000000", "2025-11-02T23:00:00.0000000")

    replies = await client.automatic_replies(DORA)

    assert replies.status == "scheduled"
    assert replies.start is not None and replies.end is not None
    assert replies.start.astimezone(BERLIN).isoformat() == "2025-10-20T00:00:00+02:00"
    assert replies.end.astimezone(BERLIN).isoformat() == "2025-11-03T00:00:00+01:00"


async def test_a_forbidden_mailbox_names_the_missing_permission(graph: Graph, client: GraphClient) -> None:
    graph.forbidden.add(EVE)

    with pytest.raises(GraphForbidden) as raised:
        await client.automatic_replies(EVE)

    assert str(raised.value) == "missing permission MailboxSettings.Read"
    assert raised.value.permission == "MailboxSettings.Read"


async def test_throttling_is_retried_after_the_time_graph_asks_for(graph: Graph, client: GraphClient) -> None:
    graph.throttled[DORA] = 1
    graph.retry_after = "1"
    started = time.monotonic()

    replies = await client.automatic_replies(DORA)

    assert replies.status == "disabled"
    assert len(graph.requests_to(f"/users/{DORA}/")) == 2
    # The policy's own backoff is 10 ms, so only Retry-After explains the wait.
    assert time.monotonic() - started >= 0.9


async def test_throttling_gives_up_within_the_policy(graph: Graph, client: GraphClient) -> None:
    graph.throttled[DORA] = 10
    graph.retry_after = "0"

    with pytest.raises(GraphUnavailable, match="429"):
        await client.automatic_replies(DORA)

    assert len(graph.requests_to(f"/users/{DORA}/")) == FAST.attempts


async def test_a_wrong_secret_is_a_sign_in_failure_that_does_not_leak_the_secret(
    entra: Entra, graph: Graph, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-secret-do-not-log"
    client = GraphClient(config_for(entra, graph, client_secret=wrong), login_session=LoginRedirect(entra.url), retry=FAST)
    try:
        with pytest.raises(GraphSignInFailed, match="invalid_client") as raised:
            await client.team_members(TEAM)
    finally:
        await client.close()

    assert wrong not in str(raised.value) and wrong not in caplog.text
    assert graph.received == []


async def test_config_keeps_the_secret_out_of_repr(entra: Entra, graph: Graph) -> None:
    assert entra.client_secret not in repr(config_for(entra, graph))


async def test_tokens_never_reach_the_log(
    entra: Entra, graph: Graph, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    graph.throttled[DORA] = 1
    graph.retry_after = "0"
    graph.forbidden.add(EVE)

    await client.automatic_replies(DORA)
    with pytest.raises(GraphForbidden):
        await client.automatic_replies(EVE)

    assert entra.issued and not any(token in caplog.text for token in entra.issued)
    assert entra.client_secret not in caplog.text


async def test_a_managed_identity_signs_in_without_a_secret(
    entra: Entra, graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # msal finds App Service's identity endpoint through these variables.
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{entra.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", entra.identity_header)
    config = config_for(entra, graph, client_secret=None, managed_identity_client_id=entra.managed_identity_client_id)
    client = GraphClient(config, retry=FAST)
    try:
        await client.team_members(TEAM)
        await client.automatic_replies(DORA)
    finally:
        await client.close()

    assert entra.managed_identity_requests == 1
    assert entra.token_requests == 0


# --- Roster sync -------------------------------------------------------------------------------------------


async def test_sync_adds_newcomers_as_not_yet_served_and_deactivates_leavers(store, graph: Graph, client: GraphClient) -> None:
    members = TableMemberRepository(store)
    dora = Member(DORA, "Dora D. (on the roster)", "dora.old@liefery.example", production_access=True,
                  working_weekdays=frozenset({0, 1, 2, 3}), joined=date(2023, 4, 1), observer_done=True, role=Role.LEAD)
    leaver = Member("6a1f2e8c-0000-4000-8000-00000000c0de", "Lou Left", "lou@liefery.example", production_access=True,
                    joined=date(2022, 1, 3), observer_done=True)
    returner = Member(HAL, "Hal Back", "hal@liefery.example", production_access=True, joined=date(2021, 6, 1),
                      observer_done=True, active=False)
    for member in (dora, leaver, returner):
        await members.add(member)
    graph.groups[TEAM].remove(GUS)
    today = date(2025, 3, 20)

    report = await sync_roster(client, members, TEAM, today)

    assert sorted(report.added) == ["Eve Ops", "Finn Front"]
    assert report.deactivated == ["Lou Left"]
    assert report.reactivated == ["Hal Back"]
    assert report.warnings == []
    roster = {s.value.aad_object_id: s.value for s in await members.list()}
    assert roster[DORA] == dora, "nothing about an existing member is overwritten"
    assert roster[leaver.aad_object_id] == replace(leaver, active=False)
    assert roster[HAL] == replace(returner, active=True)
    assert roster[EVE] == Member(EVE, "Eve Ops", "eve@liefery.example", production_access=False,
                                 joined=today, observer_done=False, role=Role.MEMBER, active=True)
    assert GUS not in roster


async def test_sync_twice_changes_nothing_the_second_time(store, client: GraphClient) -> None:
    members = TableMemberRepository(store)
    await sync_roster(client, members, TEAM, date(2025, 3, 20))
    before = await members.list()

    report = await sync_roster(client, members, TEAM, date(2025, 3, 21))

    assert (report.added, report.deactivated, report.reactivated, report.warnings) == ([], [], [], [])
    assert await members.list() == before


class LeadEditsFirst(TableMemberRepository):
    """A roster where a lead grants production access just before the sync's first write lands."""

    edited = False

    async def replace(self, member: Member, etag: str) -> str:
        if not self.edited:
            self.edited = True
            current = await self.get(member.aad_object_id)
            assert current is not None
            await super().replace(replace(current.value, production_access=True), current.etag)
        return await super().replace(member, etag)


async def test_sync_keeps_a_concurrent_edit(store, graph: Graph, client: GraphClient) -> None:
    members = LeadEditsFirst(store)
    lou = Member("6a1f2e8c-0000-4000-8000-00000000c0de", "Lou Left", "lou@liefery.example")
    await members.add(lou)

    report = await sync_roster(client, members, TEAM, date(2025, 3, 20))

    assert report.deactivated == ["Lou Left"] and report.warnings == []
    stored = await members.get(lou.aad_object_id)
    assert stored is not None and stored.value == replace(lou, active=False, production_access=True)


async def test_sync_with_graph_down_warns_and_changes_nothing(store, graph: Graph, client: GraphClient) -> None:
    members = TableMemberRepository(store)
    await members.add(Member(DORA, "Dora Dev", "dora@liefery.example"))
    graph.down = True

    report = await sync_roster(client, members, TEAM, date(2025, 3, 20))

    assert report.added == report.deactivated == []
    assert report.warnings and report.warnings[0].startswith("Could not read the team's members from Microsoft Graph")
    assert [s.value.active for s in await members.list()] == [True]


async def test_sync_never_empties_the_roster_on_an_empty_answer(store, graph: Graph, client: GraphClient) -> None:
    members = TableMemberRepository(store)
    await members.add(Member(DORA, "Dora Dev", "dora@liefery.example"))
    graph.groups[TEAM] = []

    report = await sync_roster(client, members, TEAM, date(2025, 3, 20))

    assert report.deactivated == [] and len(report.warnings) == 1
    assert [s.value.active for s in await members.list()] == [True]


# --- Outlook absences --------------------------------------------------------------------------------------


async def roster_of(store, *people: tuple[str, str]) -> TableMemberRepository:
    """A roster in Azurite holding these (id, name) members."""
    members = TableMemberRepository(store)
    for person_id, name in people:
        await members.add(Member(person_id, name, f"{name.split()[0].lower()}@liefery.example"))
    return members


async def test_scheduled_replies_become_inclusive_absences_in_the_team_zone(store, graph: Graph, client: GraphClient) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"), (EVE, "Eve Ops"), (FINN, "Finn Front"), (GUS, "Gus Guest"))
    absences = TableAbsenceRepository(store)
    # Mon 20 Oct 00:00 CEST to Mon 3 Nov 00:00 CET, in UTC: the clocks go back on 26 Oct in between.
    graph.schedule(DORA, "2025-10-19T22:00:00.0000000", "2025-11-02T23:00:00.0000000")
    # Fri 28 Mar to Tue 1 Apr 00:00 in Outlook's Windows zone name; the clocks go forward on 30 Mar.
    graph.schedule(EVE, "2025-03-28T00:00:00.0000000", "2025-04-01T00:00:00.0000000", "W. Europe Standard Time")
    # Ends mid-afternoon: that day counts as away.
    graph.schedule(FINN, "2025-03-24T08:00:00.0000000", "2025-03-26T15:00:00.0000000")
    today = date(2025, 3, 20)

    report = await import_outlook_absences(client, members, absences, BERLIN, today)

    assert report.warnings == []
    assert report.added == 3
    assert await absences.of(DORA) == [Absence(DORA, date(2025, 10, 20), date(2025, 11, 2), "outlook")]
    assert await absences.of(EVE) == [Absence(EVE, date(2025, 3, 28), date(2025, 3, 31), "outlook")]
    assert await absences.of(FINN) == [Absence(FINN, date(2025, 3, 24), date(2025, 3, 26), "outlook")]
    assert await absences.of(GUS) == []

    again = await import_outlook_absences(client, members, absences, BERLIN, today)
    assert (again.added, again.removed) == (0, 0)
    assert len(await absences.overlapping(date(2025, 1, 1), date(2025, 12, 31))) == 3


async def test_replies_without_an_end_count_as_the_next_seven_days(store, graph: Graph, client: GraphClient) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"))
    absences = TableAbsenceRepository(store)
    graph.replies[DORA] = {"status": "alwaysEnabled"}

    await import_outlook_absences(client, members, absences, BERLIN, date(2025, 3, 20))

    assert await absences.of(DORA) == [Absence(DORA, date(2025, 3, 20), date(2025, 3, 26), "outlook")]


async def test_cancelled_replies_withdraw_the_future_but_keep_the_past(store, graph: Graph, client: GraphClient) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"), (EVE, "Eve Ops"))
    absences = TableAbsenceRepository(store)
    manual = Absence(DORA, date(2025, 3, 24), date(2025, 3, 25), "manual")
    await absences.add(manual)
    graph.schedule(DORA, "2025-03-18T23:00:00", "2025-03-27T23:00:00")
    graph.schedule(EVE, "2025-04-06T22:00:00", "2025-04-10T22:00:00")
    await import_outlook_absences(client, members, absences, BERLIN, date(2025, 3, 17))
    graph.replies[DORA] = {"status": "disabled"}
    graph.replies[EVE] = {"status": "disabled"}

    report = await import_outlook_absences(client, members, absences, BERLIN, date(2025, 3, 21))

    assert report.removed == 2
    assert await absences.of(DORA) == [Absence(DORA, date(2025, 3, 19), date(2025, 3, 20), "outlook"), manual]
    assert await absences.of(EVE) == []


async def test_a_forbidden_mailbox_is_a_warning_and_the_others_still_import(
    store, graph: Graph, client: GraphClient
) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"), (EVE, "Eve Ops"), (FINN, "Finn Front"))
    absences = TableAbsenceRepository(store)
    graph.forbidden.add(DORA)
    graph.schedule(EVE, "2025-03-23T23:00:00", "2025-03-25T23:00:00")
    graph.schedule(FINN, "2025-03-24T23:00:00", "2025-03-26T23:00:00")

    report = await import_outlook_absences(client, members, absences, BERLIN, date(2025, 3, 20))

    assert report.warnings == ["Could not read Outlook absences for Dora Dev: missing permission MailboxSettings.Read"]
    assert report.added == 2
    assert await absences.of(EVE) == [Absence(EVE, date(2025, 3, 24), date(2025, 3, 25), "outlook")]
    assert await absences.of(FINN) == [Absence(FINN, date(2025, 3, 25), date(2025, 3, 26), "outlook")]


async def test_graph_down_gives_one_warning_and_no_exception(store, graph: Graph, client: GraphClient) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"), (EVE, "Eve Ops"), (FINN, "Finn Front"))
    absences = TableAbsenceRepository(store)
    graph.down = True

    report = await import_outlook_absences(client, members, absences, BERLIN, date(2025, 3, 20))

    assert report.added == 0
    [warning] = report.warnings
    assert warning.startswith("Could not read Outlook absences for Dora Dev: Microsoft Graph answered 503")
    assert warning.endswith("skipped the 2 members after them")
    # Retried within the policy for the first member, then no more calls.
    assert len(graph.received) == FAST.attempts


async def test_login_down_is_a_warning_too(store, entra: Entra, client: GraphClient) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"))
    entra.down = True

    report = await sync_roster(client, members, TEAM, date(2025, 3, 20))
    absences = await import_outlook_absences(client, members, TableAbsenceRepository(store), BERLIN, date(2025, 3, 20))

    assert len(report.warnings) == 1 and len(absences.warnings) == 1
    assert "Microsoft Graph" in report.warnings[0]


async def test_throttled_absences_are_retried_and_imported(store, graph: Graph, client: GraphClient) -> None:
    members = await roster_of(store, (DORA, "Dora Dev"))
    absences = TableAbsenceRepository(store)
    graph.schedule(DORA, "2025-03-23T23:00:00", "2025-03-25T23:00:00")
    graph.throttled[DORA] = 1
    graph.retry_after = "1"

    report = await import_outlook_absences(client, members, absences, BERLIN, date(2025, 3, 20))

    assert report.warnings == [] and report.added == 1
    assert len(graph.requests_to(f"/users/{DORA}/")) == 2


async def test_inactive_members_are_not_asked(store, graph: Graph, client: GraphClient) -> None:
    members = TableMemberRepository(store)
    await members.add(Member(DORA, "Dora Dev", "dora@liefery.example", active=False))

    report = await import_outlook_absences(client, members, TableAbsenceRepository(store), BERLIN, date(2025, 3, 20))

    assert report.warnings == [] and graph.received == []


async def test_the_weekly_run_before_the_pick_turns_graph_trouble_into_card_warnings(store, graph: Graph, client: GraphClient) -> None:
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from bot.services.directory import DirectorySync
    from bot.storage.absences import TableAbsenceRepository

    members = TableMemberRepository(store)
    sync = DirectorySync(client, members, TableAbsenceRepository(store), TEAM, ZoneInfo("Europe/Berlin"),
                         lambda: datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc))
    assert await sync.before_pick() == []
    assert {m.value.display_name for m in await members.list()}  # the roster came from the team's members
    graph.down = True
    warnings = await sync.before_pick()
    assert warnings and all(isinstance(w, str) for w in warnings)
