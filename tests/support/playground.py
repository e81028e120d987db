"""Drive the Microsoft 365 Agents Playground over its internal HTTP and WebSocket API, without a browser.

See tests/support/PLAYGROUND.md for what the Playground does and its quirks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "node_modules" / ".bin" / "agentsplayground"
CONFIG_NAME = ".m365agentsplayground.yml"
LISTENING = re.compile(r"Listening on (\d+)")
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
BOT_SIDE = "User Application"

Message = dict[str, Any]
Predicate = Callable[[Message], bool]


class PlaygroundError(RuntimeError):
    """The Playground failed to start, refused a request, or did not push what a test waited for."""


class Playground:
    """One Playground process for one test: `async with Playground(bot_endpoint=..., workdir=...) as pg:`.

    `async with Playground.attach(url) as pg:` talks to one that already runs (`make dev`'s), and never
    starts or stops a process.
    """

    def __init__(
        self,
        bot_endpoint: str,
        workdir: Path | str,
        config_file: Path | str | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.bot_endpoint = bot_endpoint
        self.workdir = Path(workdir)
        self.config_file = Path(config_file) if config_file else ROOT / CONFIG_NAME
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.output: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Condition()
        self._taken: set[int] = set()
        self._config: dict[str, Any] | None = None
        self._url: str | None = None
        self._listens = True
        self.closed = False

    @classmethod
    def attach(cls, url: str, listen: bool = True) -> Playground:
        """A client for the Playground already serving at url; with listen=False it does not follow the streams."""
        playground = cls(bot_endpoint="", workdir=ROOT)
        playground._url = url.rstrip("/")
        playground._listens = listen
        return playground

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Playground:
        """Start the Playground (or attach to it), wait until it serves, and listen to its streams."""
        try:
            await (self._attach() if self._url else self._start())
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop listening and stop the process."""
        await self.stop()

    @property
    def base_url(self) -> str:
        """The Playground's HTTP root, e.g. http://127.0.0.1:56150."""
        if self._url:
            return self._url
        if self.port is None:
            raise PlaygroundError("the Playground is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """The log the Playground writes in its working directory (start-up errors land here, not on stdout)."""
        return self.workdir / "devTools" / "m365agentsplayground.log"

    async def _start(self) -> None:
        if not BINARY.exists():
            raise PlaygroundError(f"{BINARY} is missing: run `npm ci`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.config_file, self.workdir / CONFIG_NAME)
        env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none"}
        for name in ("M365_AGENTS_PLAYGROUND_CONFIG_PATH", "TEAMS_APP_TEST_TOOL_CONFIG_PATH"):
            env.pop(name, None)
        self._process = await asyncio.create_subprocess_exec(
            str(BINARY), "-e", self.bot_endpoint, "-c", "msteams", "--disable-telemetry",
            cwd=self.workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        self.port = await self._read_port(deadline)
        self._tasks.append(asyncio.create_task(self._drain_output()))
        self._session = aiohttp.ClientSession()
        await self._wait_until_serving(deadline)
        await self._connect_streams()
        await self.config()

    async def _attach(self) -> None:
        self._session = aiohttp.ClientSession()
        try:
            async with self._session.get(f"{self.base_url}/_internal/v1/testConfig",
                                         timeout=aiohttp.ClientTimeout(total=5)) as answer:
                serving = answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            serving = False
        if not serving:
            raise PlaygroundError(f"no Agents Playground answers at {self.base_url}")
        if self._listens:
            await self._connect_streams()
        await self.config()

    async def _connect_streams(self) -> None:
        assert self._session
        ws_root = "ws" + self.base_url.removeprefix("http")
        for path, into, unwrap in (("/_ws_conversation/v1/conversations/stream", self.events, False),
                                   ("/_ws/log/stream", self.logs, True)):
            socket = await self._session.ws_connect(f"{ws_root}{path}", heartbeat=30)
            self._tasks.append(asyncio.create_task(self._listen(socket, into, unwrap)))

    async def _read_port(self, deadline: float) -> int:
        assert self._process and self._process.stdout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(f"no `Listening on N` line within {self.start_timeout}s")
            try:
                raw = await asyncio.wait_for(self._process.stdout.readline(), remaining)
            except asyncio.TimeoutError:
                continue
            if not raw:
                await self._process.wait()
                raise self._failure(f"the Playground exited with {self._process.returncode} before listening")
            line = raw.decode(errors="replace").rstrip()
            self.output.append(line)
            if match := LISTENING.search(line):
                return int(match.group(1))

    async def _drain_output(self) -> None:
        assert self._process and self._process.stdout
        while raw := await self._process.stdout.readline():
            self.output.append(raw.decode(errors="replace").rstrip())

    async def _wait_until_serving(self, deadline: float) -> None:
        # It prints `Listening` before it loads the config; a bad config then makes it exit.
        assert self._session and self._process
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise self._failure(f"the Playground exited with {self._process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with self._session.get(f"{self.base_url}/_internal/v1/testConfig") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise self._failure(f"the Playground did not serve its API within {self.start_timeout}s")

    def _failure(self, reason: str) -> PlaygroundError:
        log = self.log_file.read_text(errors="replace") if self.log_file.exists() else "(none)"
        errors = "\n".join(line for line in log.splitlines() if line.startswith("error")) or log[-3000:]
        output = "\n".join(self.output) or "(none)"
        return PlaygroundError(f"{reason}\n--- stdout:\n{output}\n--- {self.log_file}:\n{errors}")

    async def _listen(self, socket: aiohttp.ClientWebSocketResponse, into: list[dict[str, Any]], unwrap: bool) -> None:
        try:
            async for frame in socket:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(frame.data)
                async with self._changed:
                    into.append(data.get("log", data) if unwrap else data)
                    self._changed.notify_all()
            async with self._changed:
                self.closed = True  # The Playground stopped (or dropped us); follow() ends.
                self._changed.notify_all()
        finally:
            await socket.close()

    async def stop(self) -> None:
        """Close the streams and the session, then terminate the process (kill after 5 s)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._session:
            await self._session.close()
            self._session = None
        process = self._process
        if process and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()

    # ---------------------------------------------------------------- HTTP

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if not self._session:
            raise PlaygroundError("the Playground is not running")
        async with self._session.request(method, f"{self.base_url}{path}", **kwargs) as answer:
            body = await answer.text()
            if answer.status >= 300:
                raise PlaygroundError(f"{method} {path} answered {answer.status}: {body}")
        return json.loads(body) if body else None

    # ---------------------------------------------------------------- config

    async def config(self) -> dict[str, Any]:
        """The parsed /_internal/v1/config (it first waits up to 15 s for the bot endpoint to answer)."""
        if self._config is None:
            self._config = (await self._request("GET", "/_internal/v1/config"))["config"]
        return self._config

    @property
    def _loaded(self) -> dict[str, Any]:
        if self._config is None:
            raise PlaygroundError("the config is not loaded yet: `await pg.config()`")
        return self._config

    @property
    def bot_id(self) -> str:
        """The bot's id (recipient.id of what the bot receives)."""
        return self._loaded["bot"]["id"]

    @property
    def bot_name(self) -> str:
        """The bot's display name, as used in `<at>…</at>`."""
        return self._loaded["bot"]["name"]

    @property
    def current_user_id(self) -> str:
        """The user the Playground acts as; the only one with a personal chat."""
        return self._loaded["currentUser"]["id"]

    @property
    def team_id(self) -> str:
        """The team's id, which is also the General channel's conversation id."""
        return self._loaded["teams"][0]["id"]

    @property
    def group_chat_id(self) -> str:
        """The group chat's conversation id."""
        return self._loaded["groupChats"][0]["id"]

    def users(self) -> list[dict[str, Any]]:
        """All users: the current user first, then the others in config order."""
        return [self._loaded["currentUser"], *self._loaded["users"]]

    def user(self, key: str) -> dict[str, Any]:
        """A user by id, display name, e-mail or aadObjectId."""
        for user in self.users():
            if key in (user["id"], user["name"], user["email"], user["aadObjectId"]):
                return user
        raise PlaygroundError(f"no user {key!r}; users: {[u['name'] for u in self.users()]}")

    def user_id(self, name: str) -> str:
        """A user's id by display name (or e-mail)."""
        return self.user(name)["id"]

    def personal_chat_id(self, user: str | None = None) -> str:
        """The personal chat's conversation id; only the current user has one."""
        if user is not None and self.user(user)["id"] != self.current_user_id:
            raise PlaygroundError(
                f"only the current user {self.current_user_id} has a personal chat in the Playground, not {user!r}"
            )
        return self._loaded["personalChat"]["id"]

    def channel_id(self, name: str) -> str:
        """A channel's conversation id by name, e.g. "backend" or "General"."""
        for channel in self._loaded["teams"][0]["channels"]:
            if channel["name"] == name:
                return channel["id"]
        names = [c["name"] for c in self._loaded["teams"][0]["channels"]]
        raise PlaygroundError(f"no channel {name!r}; channels: {names}")

    def channels(self) -> list[dict[str, Any]]:
        """The team's channels, each with `id` and `name`; General (whose id is the team id) first."""
        return list(self._loaded["teams"][0]["channels"])

    def _channel_ids(self) -> set[str]:
        return {c["id"] for c in self.channels()}

    # ---------------------------------------------------------------- acting as a user

    def _mention(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        tag = f"<at>{self.bot_name}</at>"
        return f"{tag} {text}", [{"mentioned": {"id": self.bot_id}, "text": tag}]

    async def send(self, conversation_id: str, user_id: str, text: str, mention_bot: bool = False) -> dict[str, Any]:
        """Post a message as a user; {"messageId", "conversationId"} where the bot's replies to it land.

        The Playground stamps every message it posts with the current user, whatever `from` says. So a
        message from anyone else is injected as a custom activity; in a channel it first opens a thread.
        A reply in a channel thread (`<channel>;messageid=<id>`) reaches the bot unmentioned too, as in Teams
        with the manifest's RSC permission; the Playground forwards only mentioned ones, so those are injected.
        """
        await self.config()
        in_thread = self._thread_channel(conversation_id) is not None
        if user_id == self.current_user_id and (mention_bot or not in_thread):
            body: dict[str, Any] = {"from": {"id": user_id}, "text": text, "textFormat": "plain"}
            if mention_bot:
                body["text"], body["mentions"] = self._mention(text)
            answer = await self._post_message(conversation_id, body)
            replies_in = answer.get("postConversationId") or conversation_id
            return {"messageId": answer["messageId"], "conversationId": replies_in}
        return await self._send_as_other(conversation_id, user_id, text, mention_bot)

    async def _send_as_other(self, conversation_id: str, user_id: str, text: str, mention_bot: bool) -> dict[str, Any]:
        user = self.user(user_id)
        if conversation_id == self._loaded["personalChat"]["id"]:
            raise PlaygroundError(f"{conversation_id} is the current user's personal chat; {user_id} is not in it")
        channels = self._channel_ids()
        target, message_id = conversation_id, str(int(time.time() * 1000))
        if conversation_id in channels:
            # A thread of the Playground's own, so that the bot's replies land in a conversation it knows.
            body = {"from": {"id": user_id}, "text": text, "textFormat": "plain"}
            opened = await self._post_message(conversation_id, body)
            target, message_id = opened["postConversationId"], opened["messageId"]
        elif conversation_id == self.group_chat_id:
            self._member_of_group_chat(user_id)
        if not mention_bot and (conversation_id in channels or conversation_id == self.group_chat_id):
            return {"messageId": message_id, "conversationId": target}  # As in Teams: no @mention, no activity.
        entities: list[dict[str, Any]] = []
        if mention_bot:
            text, mentions = self._mention(text)
            entities.append({"type": "mention", "text": mentions[0]["text"],
                             "mentioned": {"id": self.bot_id, "name": self.bot_name}})
        channel_data: dict[str, Any] = {"tenant": {"id": self._loaded["tenantId"]}}
        channel = conversation_id if conversation_id in channels else self._thread_channel(conversation_id)
        if channel:
            channel_data.update(teamsChannelId=channel, teamsTeamId=self.team_id,
                                team={"id": self.team_id}, channel={"id": channel})
        activity = await self.template(target)
        activity.pop("deliveryMode", None)
        activity.update({
            "type": "message", "id": message_id, "text": text, "textFormat": "plain", "locale": "en-US",
            "from": {"id": user["id"], "name": user["name"], "aadObjectId": user["aadObjectId"]},
            "entities": [*entities, {"type": "clientInfo", "locale": "en-US"}], "channelData": channel_data,
        })
        await self.inject_activity(activity)
        return {"messageId": message_id, "conversationId": target}

    def _thread_channel(self, conversation_id: str) -> str | None:
        channel, marker, _ = conversation_id.partition(";messageid=")
        return channel if marker and channel in self._channel_ids() else None

    def _member_of_group_chat(self, user_id: str) -> None:
        chat = self._loaded["groupChats"][0]
        if user_id not in (self.current_user_id, *chat["members"]):
            raise PlaygroundError(f"{user_id} is not a member of the group chat {chat['id']}")

    async def _post_message(self, conversation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/_conversation/v1/conversations/{quote(conversation_id, safe='')}/messages"
        return await self._request("POST", path, json=body)

    async def invoke(
        self, conversation_id: str, user_id: str, reply_to_id: str, verb: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Press an Action.Execute button on a bot message; the bot's invoke answer as {"type", "value"}."""
        body = {
            "name": "adaptiveCard/action", "from": {"id": user_id}, "conversation": {"id": conversation_id},
            "replyToId": reply_to_id,
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data or {}}, "trigger": "manual"},
        }
        return await self._request("POST", "/_conversation/v1/invoke", json=body)

    async def submit(self, conversation_id: str, user_id: str, reply_to_id: str, data: dict[str, Any]) -> None:
        """Press an Action.Submit button on a bot message: the bot gets a message whose value is `data`."""
        body = {"conversation": {"id": conversation_id}, "from": {"id": user_id}, "replyToId": reply_to_id}
        await self._request("POST", "/_conversation/v1/submit", json={**body, "value": data})

    async def template(self, conversation_id: str, type: str | None = None) -> dict[str, Any]:
        """The Playground's activity of a type (install, userAdded, botAdded, channelCreated, ...; None: a bare one)."""
        params = {"conversationId": conversation_id, **({"type": type} if type else {})}
        return await self._request("GET", "/_internal/v1/customActivities/template", params=params)

    async def inject(self, conversation_id: str, type: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send the bot the Playground's template activity of a type, with top-level fields replaced; returns it."""
        activity = {**await self.template(conversation_id, type), **(changes or {})}
        await self.inject_activity(activity)
        return activity

    async def inject_activity(self, activity: dict[str, Any]) -> None:
        """Send the bot any activity as is (the Playground answers before the bot has handled it)."""
        await self._request("POST", "/_internal/v1/customActivities", json=activity)

    # ---------------------------------------------------------------- what the bot sent

    @staticmethod
    def _flatten(event: dict[str, Any]) -> Message:
        message = dict(event["message"])
        message["conversationId"] = message.get("postConversationId") or event["actionConversationId"]
        message["actionConversationId"] = event["actionConversationId"]
        return message

    @staticmethod
    def _in(message: Message, conversation_id: str | None) -> bool:
        if conversation_id is None:
            return True
        ids = (message["conversationId"], message["actionConversationId"])
        return conversation_id in ids or any(i.startswith(f"{conversation_id};messageid=") for i in ids)

    def messages(self, conversation_id: str | None = None) -> list[Message]:
        """Every bot message pushed so far (createMessage), each with its `conversationId`."""
        found = [self._flatten(e) for e in self.events if e.get("action") == "createMessage"]
        return [m for m in found if m["from"]["id"] == self.bot_id and self._in(m, conversation_id)]

    async def follow(self) -> AsyncIterator[Message]:
        """Every message created or updated (anyone's), from the first on, as it arrives, with its `action`.

        Ends with PlaygroundError once the stream closes.
        """
        index = 0
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.events) > index or self.closed)
            while index < len(self.events):
                event = self.events[index]
                index += 1
                if event.get("action") in ("createMessage", "updateMessage"):
                    yield {**self._flatten(event), "action": event["action"]}
            if self.closed:
                raise PlaygroundError(f"the Playground at {self.base_url} closed its stream (was it stopped?)")

    def updates(self, message_id: str | None = None) -> list[Message]:
        """Every message update pushed so far (updateMessage), optionally of one message."""
        found = [self._flatten(e) for e in self.events if e.get("action") == "updateMessage"]
        return [m for m in found if message_id is None or m["messageId"] == message_id]

    async def wait_for_message(
        self, predicate: Predicate | None = None, timeout: float = 10, conversation_id: str | None = None
    ) -> Message:
        """The first bot message that matches and that no earlier wait returned (a channel id matches its threads)."""
        return await self._wait("createMessage", predicate, timeout, lambda m: self._in(m, conversation_id))

    async def wait_for_update(
        self, predicate: Predicate | None = None, timeout: float = 10, message_id: str | None = None
    ) -> Message:
        """The first message update that matches and that no earlier wait returned."""
        return await self._wait("updateMessage", predicate, timeout, lambda m: message_id in (None, m["messageId"]))

    async def _wait(self, action: str, predicate: Predicate | None, timeout: float, scope: Predicate) -> Message:
        def first() -> Message | None:
            for index, event in enumerate(self.events):
                if event.get("action") != action or index in self._taken:
                    continue
                message = self._flatten(event)
                if message["from"]["id"] != self.bot_id or not scope(message):
                    continue
                if predicate is None or predicate(message):
                    self._taken.add(index)
                    return message
            return None

        def pushed() -> str:
            found = self.messages() if action == "createMessage" else self.updates()
            return f"no matching {action}; the bot pushed: {[(m.get('text') or '[card]')[:80] for m in found]}"

        return await self._until(first, timeout, pushed)

    async def _until(self, find: Callable[[], Any], timeout: float, explain: Callable[[], str]) -> Any:
        found: list[Any] = []

        def ready() -> bool:
            item = find()
            if item is not None:
                found.append(item)
            return item is not None

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except asyncio.TimeoutError:
            raise PlaygroundError(f"after {timeout}s: {explain()}") from None
        return found[0]

    async def wait_for_received(self, predicate: Predicate | None = None, timeout: float = 10) -> dict[str, Any]:
        """The first activity the bot received that matches (the log shows it once the bot has answered)."""
        def first() -> dict[str, Any] | None:
            return next((a for a in self.received() if predicate is None or predicate(a)), None)

        def explain() -> str:
            return f"the bot received no matching activity; it got: {[a.get('type') for a in self.received()]}"

        return await self._until(first, timeout, explain)

    def received(self) -> list[dict[str, Any]]:
        """Every activity the Playground sent to the bot, as the bot got it (from the log stream)."""
        return [e["request"]["body"] for e in self.logs if e.get("to") == BOT_SIDE and "request" in e]

    def sent(self) -> list[dict[str, Any]]:
        """Every activity the bot sent to the Playground's connector (also those the conversation stream hides)."""
        return [e["request"]["body"] for e in self.logs if e.get("from") == BOT_SIDE and "request" in e]

    @staticmethod
    def card(message: Message) -> dict[str, Any] | None:
        """The first Adaptive Card of a message, if any."""
        for attachment in message.get("attachments") or []:
            if attachment.get("contentType") == CARD_TYPE:
                return attachment["content"]
        return None
