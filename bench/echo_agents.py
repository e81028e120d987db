"""The Agents SDK baseline: a minimal Microsoft 365 Agents SDK echo bot (anonymous, no app id, memory storage).

    python -m bench.echo_agents --port 3980

The counterpart of bench/echo_bot.py (botbuilder), wired the way the SDK's own samples are: an
MsalConnectionManager, a CloudAdapter, an AgentApplication with one message route, the SDK's JWT
middleware and start_agent_process. The settings are built in code instead of read from
CONNECTIONS__SERVICE_CONNECTION__SETTINGS__* variables: one anonymous connection, so requests without an
Authorization header are accepted and replies go out without a token, like botbuilder with an empty app id.
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_middleware, start_agent_process
from microsoft_agents.hosting.core import (
    AgentApplication,
    AgentAuthConfiguration,
    MemoryStorage,
    TurnContext,
    TurnState,
)


def build_app() -> web.Application:
    """POST /api/messages through the SDK's middleware, CloudAdapter and AgentApplication, nothing else."""
    # Without an app id the SDK warns on every turn that its user-token client has none; botbuilder's echo bot
    # writes no line per turn, so neither does this one.
    logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(logging.ERROR)
    anonymous = AgentAuthConfiguration(anonymous_allowed=True)
    connections = MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": anonymous})
    adapter = CloudAdapter(connection_manager=connections)
    agent = AgentApplication[TurnState](storage=MemoryStorage(), adapter=adapter, connection_manager=connections)

    @agent.activity("message")
    async def on_message(context: TurnContext, _state: TurnState) -> None:
        """Echo the text back in the same conversation."""
        await context.send_activity(f"Echo: {context.activity.text}")

    async def messages(request: web.Request) -> web.Response:
        return await start_agent_process(request, agent, adapter)

    app = web.Application(middlewares=[jwt_authorization_middleware])
    app["agent_configuration"] = anonymous
    app.router.add_post("/api/messages", messages)
    return app


def main() -> None:
    """Serve on loopback."""
    parser = argparse.ArgumentParser(description="Minimal Microsoft 365 Agents SDK echo bot (a bench baseline).")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
