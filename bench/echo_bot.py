"""The baseline: a minimal botbuilder echo bot (CloudAdapter, empty app id, no storage).

    python -m bench.echo_bot --port 3979
"""

from __future__ import annotations

import argparse

from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication


class _Config:
    """The attribute names botbuilder's configuration reads; an empty app id turns authentication off."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


class EchoBot(ActivityHandler):
    """Replies to every message with its text."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Echo the text back in the same conversation."""
        await turn_context.send_activity(f"Echo: {turn_context.activity.text}")


def build_app() -> web.Application:
    """POST /api/messages through a CloudAdapter, nothing else."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


def main() -> None:
    """Serve on loopback."""
    parser = argparse.ArgumentParser(description="Minimal botbuilder echo bot (the bench baseline).")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
