"""The bot's command and card-action routers as the running bot registers them (for tests that inspect them)."""

from __future__ import annotations

from functools import lru_cache

from bot.bootstrap import build_core, build_services
from bot.config import load_settings
from bot.core.routing import ActionRouter, CommandRouter
from bot.domain.catalogue import Catalogue
from tests.support.processes import connection_string


@lru_cache(maxsize=1)
def app_routers() -> tuple[CommandRouter, ActionRouter]:
    """The routers of a core wired as in production (its storage clients are never used here)."""
    settings = load_settings({"ALLOW_UNAUTHENTICATED": "true", "TABLES_CONNECTION_STRING": connection_string(1)})
    core = build_core(settings, build_services(settings), Catalogue(), messenger=None)
    return core.app.commands, core.app.actions
