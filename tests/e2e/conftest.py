"""End-to-end fixtures: a running bot with the demo roster and a connector stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import ROOT


@pytest.fixture
async def seeded(storage_env) -> None:
    """The demo roster and a current and next rotation, as `make dev` seeds them."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings
    from bot.services.demo import seed_demo

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    text = Path(ROOT / "scripts" / "demo_roster.yaml").read_text()
    await seed_demo(text, services.clock(), services.settings.tz, services.policy, services.members, services.weeks)
    await services.store.close()


@pytest.fixture
async def handbook(storage_env) -> None:
    """The labelled test handbook (also make dev's demo handbook), imported as `python -m bot handbook import` does."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    await services.handbook.import_markdown((ROOT / "tests" / "data" / "handbook.md").read_text(encoding="utf-8"))
    await services.store.close()


@pytest.fixture
def bot(start_bot, seeded):
    """The bot process, local mode, over the seeded tables."""
    return start_bot()


async def post(http, bot, activity: dict, **headers):
    """POST an activity to the bot; the response status and JSON body (or text)."""
    async with http.post(f"{bot.url}/api/messages", json=activity, headers=headers) as response:
        body = await response.text()
        try:
            import json

            return response.status, json.loads(body) if body else None
        except ValueError:
            return response.status, body


ROSTER_E2E = ROOT / "tests" / "fixtures" / "roster_e2e.yaml"
SUPPORT_ALWAYS = ROOT / "tests" / "fixtures" / "support_always.yaml"
DORA, PAULA, NICO, FRITZ, LARS = (
    "6a1f2e8c-0000-4000-8000-00000000d001", "6a1f2e8c-0000-4000-8000-00000000d002",
    "6a1f2e8c-0000-4000-8000-00000000d003", "6a1f2e8c-0000-4000-8000-00000000d004",
    "6a1f2e8c-0000-4000-8000-00000000e001",
)
OLGA = "6a1f2e8c-0000-4000-8000-00000000a001"


@pytest.fixture
async def rotation(storage_env) -> None:
    """A roster where everyone works daily, with Dora and Paula on support now, Fritz as fallback, Nico observing."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings
    from bot.domain.rotation import RotationWeek
    from bot.services.roster import import_roster
    from bot.services.roster_file import RosterDocument, parse_roster

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    document = parse_roster(ROSTER_E2E.read_text(), services.policy)
    current = services.policy.at(services.clock(), services.settings.tz)
    week = RotationWeek(current.start, (DORA, PAULA), fallback=FRITZ, fallback_days=frozenset(), observer=NICO)
    await import_roster(RosterDocument(document.members, [week]), services.members, services.weeks)
    await services.store.close()


@pytest.fixture
async def jira():
    """The Jira Cloud stand-in."""
    from tests.conftest import serve
    from tests.support.jira import Jira

    stand_in = Jira()
    runner, url = await serve(stand_in.app())
    stand_in.url = url
    yield stand_in
    await runner.cleanup()


@pytest.fixture
def desk_env(jira) -> dict[str, str]:
    """Fast clocks, a round-the-clock team and Jira on loopback."""
    return {
        "SUPPORT_CONFIG": str(SUPPORT_ALWAYS),
        "FIRST_RESPONSE_TARGET_SECONDS": "2",
        "LEAD_ESCALATION_SECONDS": "4",
        "JOB_POLL_MILLISECONDS": "100",
        "JIRA_BASE_URL": jira.url,
        "JIRA_EMAIL": jira.email,
        "JIRA_API_TOKEN": jira.api_token,
        "JIRA_RETRY_SECONDS": "1",
    }


@pytest.fixture
def desk(start_bot, rotation, desk_env):
    """The bot with the e2e rotation and fast escalation."""
    return start_bot(**desk_env)
