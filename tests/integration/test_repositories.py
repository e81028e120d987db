"""Repositories against Azurite: round trips, conditional writes, continuation, outages."""

from dataclasses import replace
from datetime import date

import pytest
from azure.data.tables.aio import TableClient

from bot.domain.errors import AlreadyExists, ConcurrencyError, StorageUnavailable
from bot.domain.members import Member, Role
from bot.domain.rotation import RotationWeek
from bot.storage.conversations import TableConversationRepository
from bot.storage.members import TableMemberRepository
from bot.storage.tables import TableStore, key, unkey
from bot.storage.weeks import TableWeekRepository
from tests.support.processes import connection_string, free_port

DORA = Member(
    "6a1f2e8c-0000-4000-8000-00000000d001", "Dora Dev", "dora@x.example", production_access=True,
    working_weekdays=frozenset({0, 1, 2, 3}), joined=date(2023, 4, 1), observer_done=True, role=Role.LEAD,
)


async def test_member_round_trip(store):
    members = TableMemberRepository(store)
    await members.add(DORA)
    stored = await members.get(DORA.aad_object_id)
    assert stored.value == DORA
    assert stored.etag
    assert await members.get("nobody") is None


async def test_adding_twice_is_refused(store):
    members = TableMemberRepository(store)
    await members.add(DORA)
    with pytest.raises(AlreadyExists):
        await members.add(DORA)


async def test_stale_etag_write_fails_with_a_domain_error(store):
    members = TableMemberRepository(store)
    await members.add(DORA)
    first = await members.get(DORA.aad_object_id)
    second = await members.get(DORA.aad_object_id)
    await members.replace(replace(first.value, production_access=False), first.etag)
    with pytest.raises(ConcurrencyError, match="someone else changed it first"):
        await members.replace(replace(second.value, display_name="Dora D."), second.etag)
    assert (await members.get(DORA.aad_object_id)).value.production_access is False
    assert (await members.get(DORA.aad_object_id)).value.display_name == "Dora Dev"


async def test_weeks_between_dates_oldest_first(store):
    weeks = TableWeekRepository(store)
    for start in (date(2026, 12, 16), date(2026, 12, 2), date(2026, 12, 9)):
        await weeks.add(RotationWeek(start, ("a", "b"), fallback="c", fallback_days=frozenset({4}), observer="d"))
    found = await weeks.between(date(2026, 12, 2), date(2026, 12, 9))
    assert [s.value.start for s in found] == [date(2026, 12, 2), date(2026, 12, 9)]
    assert found[0].value.fallback_days == {4} and found[0].value.observer == "d"


async def test_listing_follows_continuation_tokens(store, storage_env):
    # Azurite pages at 1,000 rows like Azure: 1,234 rows need two continuation tokens' worth of pages.
    client = TableClient.from_connection_string(storage_env["TABLES_CONNECTION_STRING"], store.name("Members"))
    async with client:
        for batch in range(13):
            ops = [
                ("create", {"PartitionKey": "member", "RowKey": f"m{batch:02d}{i:03d}", "DisplayName": f"M {batch} {i}", "Email": "m@x.example"})
                for i in range(100 if batch < 12 else 34)
            ]
            await client.submit_transaction(ops)
    listed = await TableMemberRepository(store).list()
    assert len(listed) == 1234
    assert len({s.value.aad_object_id for s in listed}) == 1234


async def test_conversation_reference_is_new_once(store):
    conversations = TableConversationRepository(store)
    channel = "19:backend0channel0id@thread.tacv2"
    assert await conversations.remember("team", channel, {"serviceUrl": "a"}) is True
    assert await conversations.remember("team", channel, {"serviceUrl": "b"}) is False
    assert await conversations.get("team", channel) == {"serviceUrl": "b"}
    assert await conversations.list("team") == {channel: {"serviceUrl": "b"}}


def test_keys_escape_forbidden_characters():
    raw = "a/b\\c#d?e%f"
    escaped = key(raw)
    assert not set("/\\#?") & set(escaped)
    assert unkey(escaped) == raw


async def test_unreachable_table_service_is_a_clear_domain_error():
    store = TableStore.from_connection_string(connection_string(free_port()), "nowhere")
    try:
        with pytest.raises(StorageUnavailable, match="Table Storage did not answer"):
            await TableMemberRepository(store).list()
        assert await store.ping(timeout=2) is False
    finally:
        await store.close()


async def test_escalation_levels_round_trip_and_rows_with_only_a_count_read_as_levels_in_order(store):
    from datetime import datetime, timezone

    from bot.storage.alerts import TableAlertRepository
    from bot.storage.requests import TableRequestRepository
    from tests.support.figures import request, thread

    at = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    requests, alerts = TableRequestRepository(store), TableAlertRepository(store)
    lead_only = request(at).escalated(2)
    await requests.add(lead_only)
    assert (await requests.get(lead_only.id)).value.escalated_levels == {2}
    opened = thread(at, events=1).escalated(2).escalated(1)
    await alerts.add(opened)
    assert (await alerts.get(opened.key)).value.escalated_levels == {1, 2}
    # A row of an earlier version: "Escalations: 2" meant levels 1 and 2 (they went out in order).
    old = request(at.replace(hour=10))
    await requests.add(old)
    table = store.table("Requests")
    row = await table.get_entity("request", key(old.id))
    del row["EscalatedLevels"]
    row["Escalations"] = 2
    await table.update_entity(row, mode="replace")
    back = (await requests.get(old.id)).value
    assert back.escalated_levels == {1, 2} and not back.needs_escalation(1) and not back.needs_escalation(2)


async def test_request_texts_stream_a_window_and_since_a_write_only_rows_written_since(store):
    import asyncio
    from datetime import datetime, timedelta, timezone

    from bot.storage.requests import TableRequestRepository
    from tests.support.figures import request

    at = datetime(2026, 12, 1, 16, tzinfo=timezone.utc)
    requests = TableRequestRepository(store)
    early, inside, later = request(at), request(at + timedelta(minutes=10)), request(at + timedelta(hours=2))
    for r in (early, inside, later):
        await requests.add(r)
    window = [t async for t in requests.texts(at, at + timedelta(hours=1))]
    assert [(t.id, t.text, t.received_at) for t in sorted(window, key=lambda t: t.received_at)] == \
        [(early.id, early.text, early.received_at), (inside.id, inside.text, inside.received_at)]
    await asyncio.sleep(0.05)
    mark = datetime.now(timezone.utc)
    await asyncio.sleep(0.05)
    # Stored late: it arrived before the others, and storage wrote it only now.
    late = request(at + timedelta(minutes=5))
    await requests.add(late)
    since = [t.id async for t in requests.texts(at, at + timedelta(hours=1), written_since=mark)]
    assert since == [late.id]
    # A change is a write too: a refresh sees a request changed since (and the hint skips ids it knows).
    stored = await requests.get(early.id)
    await requests.replace(stored.value.escalated(1), stored.etag)
    since = {t.id async for t in requests.texts(at, at + timedelta(hours=1), written_since=mark)}
    assert since == {late.id, early.id}
