"""The processes the bench starts: Azurite, the counting Table proxy, our bot (seeded) and the echo bot of its SDK."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import aiohttp

from bench.report import say
from bench.trips import Record
from tests.support.processes import ROOT, Azurite, BotProcess, connection_string, free_port, wait_for_port

RESULTS = ROOT / "bench" / "results"
# Each Teams adapter of our bot (TEAMS_SDK) is measured beside the smallest echo bot on the same SDK.
ECHO_BOTS = {"botbuilder": "bench.echo_bot", "agents": "bench.echo_agents"}


@dataclass
class Child:
    """A helper process the bench started itself (proxy, echo bot)."""

    name: str
    process: subprocess.Popen
    log: IO[bytes]
    log_path: Path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()

    def wait_listening(self, port: int, timeout: float = 20) -> None:
        """Block until it accepts connections on `port`; stop it and fail with its log if it doesn't."""
        try:
            wait_for_port(port, timeout, self.process)
        except (RuntimeError, TimeoutError):
            self.stop()
            raise RuntimeError(f"{self.name} did not start; log:\n{self.log_path.read_text(errors='replace')}")


def spawn(name: str, args: list[str]) -> Child:
    """Start `python -m <args>` from the repo root, logging to bench/results/<name>.log; does not wait."""
    log_path = RESULTS / f"{name}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=log, stderr=log)
    return Child(name, process, log, log_path)


@dataclass(frozen=True)
class Proxy:
    """The counting Table Storage proxy process and its two ports."""

    child: Child
    port: int
    control_port: int

    async def records(self, session: aiohttp.ClientSession, after: int = 0) -> tuple[int, list[Record]]:
        """The total seen so far and the records after index `after`."""
        async with session.get(f"http://127.0.0.1:{self.control_port}/records", params={"after": str(after)}) as answer:
            body = await answer.json()
        return body["total"], [tuple(r) for r in body["records"]]


def start_proxy(azurite: Azurite) -> Proxy:
    """The proxy in its own process, in front of Azurite."""
    port, control = free_port(), free_port()
    args = ["bench.table_proxy", "--upstream", f"http://127.0.0.1:{azurite.port}", "--port", str(port), "--control-port", str(control)]
    child = spawn("table_proxy", args)
    child.wait_listening(port)
    child.wait_listening(control)
    return Proxy(child, port, control)


def seeded_bot(proxy: Proxy, prefix: str, sdk: str = "botbuilder") -> BotProcess:
    """Seed the demo data through the proxy; our bot (`python app.py`, TEAMS_SDK=sdk) with the same environment, not started."""
    env = {
        "ALLOW_UNAUTHENTICATED": "true",
        "TEAMS_SDK": sdk,
        "TABLES_CONNECTION_STRING": connection_string(proxy.port),
        "TABLE_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
    }
    log_path = RESULTS / "ours_bot.log"
    log_path.unlink(missing_ok=True)
    bot = BotProcess(env, log_path)
    seed = subprocess.run(
        [sys.executable, "-m", "bot", "demo-seed", "scripts/demo_roster.yaml"],
        cwd=ROOT, env=bot.env, capture_output=True, text=True, timeout=60,
    )
    if seed.returncode != 0:
        raise RuntimeError(f"demo-seed failed ({seed.returncode}): {seed.stdout}{seed.stderr}")
    say(f"demo-seed: {seed.stdout.strip()}")
    return bot


def stop_bot(bot: BotProcess, grace: float) -> None:
    """SIGTERM our bot, SIGKILL it after `grace` seconds (it may wait for in-flight sends), close its log."""
    if bot.alive():
        start = time.monotonic()
        bot.process.terminate()
        try:
            bot.process.wait(grace)
        except subprocess.TimeoutExpired:
            say(f"our bot did not stop within {grace} s of SIGTERM; killing it")
            bot.process.kill()
            bot.process.wait(5)
        else:
            say(f"our bot stopped {time.monotonic() - start:.1f} s after SIGTERM")
    bot.stop()


@dataclass(frozen=True)
class Stack:
    """Everything the bench started: Azurite, the proxy, our bot and the echo bot."""

    azurite: Azurite
    proxy: Proxy
    ours: BotProcess
    echo: Child
    echo_url: str


@contextlib.contextmanager
def processes(prefix: str, grace: float, sdk: str = "botbuilder") -> Iterator[Stack]:
    """Azurite, the proxy, our bot on `sdk` and that SDK's echo bot; all stopped on the way out, whatever happens."""
    with contextlib.ExitStack() as stack:
        azurite = Azurite()
        stack.callback(azurite.stop)
        azurite.start()
        echo_port = free_port()
        echo = spawn("echo_bot", [ECHO_BOTS[sdk], "--port", str(echo_port)])  # starts while we seed
        stack.callback(echo.stop)
        proxy = start_proxy(azurite)
        stack.callback(proxy.child.stop)
        ours = seeded_bot(proxy, prefix, sdk)
        stack.callback(stop_bot, ours, grace)
        ours.start()
        echo.wait_listening(echo_port)
        yield Stack(azurite, proxy, ours, echo, f"http://127.0.0.1:{echo_port}")
