"""Start the support-rotation bot: python app.py (configuration comes from the environment)."""

from __future__ import annotations

import logging
import os
import sys

from aiohttp import web

from bot.config import ConfigError, load_settings
from bot import telemetry
from bot.logs import configure


def main() -> int:
    """Check the settings, then serve until stopped."""
    try:
        settings = load_settings(os.environ)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    configure(settings.log_level)
    telemetry.setup(settings.applicationinsights_connection_string)
    log = logging.getLogger("app")
    if not settings.authenticated:
        log.warning("authentication is OFF (ALLOW_UNAUTHENTICATED=true): local mode, listening on %s only", settings.host)
    from bot.bootstrap import build_app
    from bot.domain.errors import StorageUnavailable

    try:
        app = build_app(settings)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    except StorageUnavailable as err:
        log.error("cannot start: %s", err)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
