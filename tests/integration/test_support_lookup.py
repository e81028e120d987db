"""Who is on duty: the short cache the acknowledgement reads, and the fresh read every right is decided on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.iteration import IterationPolicy
from bot.domain.rotation import RotationWeek
from bot.services.catalogue import load_catalogue
from bot.services.roster import import_roster
from bot.services.roster_file import RosterDocument, parse_roster
from bot.services.support import CACHE_SECONDS, SupportLookup
from bot.storage.absences import TableAbsenceRepository
from bot.storage.members import TableMemberRepository
from bot.storage.weeks import TableWeekRepository

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
DORA, PAULA, FRITZ = ("6a1f2e8c-0000-4000-8000-00000000d001", "6a1f2e8c-0000-4000-8000-00000000d002",
                      "6a1f2e8c-0000-4000-8000-00000000d004")
NOW = datetime(2026, 12, 2, 16, 30, tzinfo=BERLIN)


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def team(store):
    policy = IterationPolicy()
    document = parse_roster((ROOT / "tests/fixtures/roster_e2e.yaml").read_text(), policy)
    week = RotationWeek(policy.at(NOW, BERLIN).start, (DORA, PAULA))
    members, weeks = TableMemberRepository(store), TableWeekRepository(store)
    await import_roster(RosterDocument(document.members, [week]), members, weeks)
    return members, weeks, TableAbsenceRepository(store)


def lookup(team, ticks: Ticks) -> SupportLookup:
    members, weeks, absences = team
    catalogue = load_catalogue(str(ROOT / "tests/fixtures/support_always.yaml"), BERLIN)
    return SupportLookup(members=members, weeks=weeks, absences=absences, calendar=catalogue.calendar,
                         policy=IterationPolicy(), tz=BERLIN, clock=lambda: NOW, monotonic=ticks)


async def another_instance_changes_the_pair(team) -> None:
    _, weeks, _ = team
    stored = await weeks.get(IterationPolicy().at(NOW, BERLIN).start)
    await weeks.replace(replace(stored.value, pair=(FRITZ, PAULA)), stored.etag)


async def test_rights_see_another_instances_change_at_once_paging_within_the_cache_time(team):
    ticks = Ticks()
    duty = lookup(team, ticks)
    assert (await duty.status(cached=True)).week.pair == (DORA, PAULA)
    await another_instance_changes_the_pair(team)
    assert (await duty.status(cached=True)).week.pair == (DORA, PAULA)  # paging: the cached answer
    assert (await duty.status()).week.pair == (FRITZ, PAULA)  # rights: always read
    ticks.now += 0.1
    assert (await duty.status(cached=True)).week.pair == (FRITZ, PAULA)  # and the fresh read refreshed the cache


async def test_the_cache_expires(team):
    ticks = Ticks()
    duty = lookup(team, ticks)
    await duty.status(cached=True)
    await another_instance_changes_the_pair(team)
    ticks.now += CACHE_SECONDS + 0.01
    assert (await duty.status(cached=True)).week.pair == (FRITZ, PAULA)


async def test_a_write_through_this_instance_clears_the_cache(team):
    ticks = Ticks()
    duty = lookup(team, ticks)
    await duty.status(cached=True)
    _, weeks, _ = team
    watched = duty.watch(weeks)
    stored = await watched.get(IterationPolicy().at(NOW, BERLIN).start)
    await watched.replace(replace(stored.value, pair=(FRITZ, DORA)), stored.etag)
    assert (await duty.status(cached=True)).week.pair == (FRITZ, DORA)
