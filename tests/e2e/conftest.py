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
