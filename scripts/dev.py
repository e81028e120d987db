"""make dev: Azurite on disk, the demo data, the bot and the Agents Playground; Ctrl-C stops all three."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "node_modules" / ".bin"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def say(text: str) -> None:
    """One status line for the person at the terminal."""
    print(f"[dev] {text}", flush=True)


def port_open(port: int) -> bool:
    """True when something listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check, what: str, timeout: float, process: subprocess.Popen) -> None:
    """Poll until check() holds; fail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def healthy(url: str) -> bool:
    """True when the bot's /healthz answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def stop(processes: list[tuple[str, subprocess.Popen]]) -> None:
    """SIGINT each child, newest first (Azurite flushes its disk store only on SIGINT), then wait."""
    for name, process in reversed(processes):
        if process.poll() is None:
            say(f"stopping {name}")
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                process.kill()
                process.wait()


def _relay_playground(playground: subprocess.Popen) -> None:
    """Echo the Playground's output and say where to open it once it listens (it may pick another port)."""
    for line in playground.stdout:
        print(line, end="", flush=True)
        match = re.search(r"Listening on (\d+)", line)
        if match:
            say(f"ready: open http://localhost:{match.group(1)} in your browser")
            say("try 'who' in the personal chat, or '@Support Bot who' in the backend channel; Ctrl-C stops everything")
            export = "" if match.group(1) == "56150" else f"export PLAYGROUND_URL=http://127.0.0.1:{match.group(1)}; "
            say(f"to act as someone else (the UI cannot switch users): {export}.venv/bin/python scripts/act_as.py --help")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Run everything until Ctrl-C or until one part dies."""
    table_port = int(os.environ.get("AZURITE_TABLE_PORT", "10002"))
    bot_port = int(os.environ.get("PORT", "3978"))
    for port, what in ((table_port, "Azurite (AZURITE_TABLE_PORT)"), (bot_port, "the bot (PORT)")):
        if port_open(port):
            say(f"port {port} for {what} is taken; stop what uses it or choose another port")
            return 1
    data = ROOT / ".azurite"
    data.mkdir(exist_ok=True)
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};TableEndpoint=http://127.0.0.1:{table_port}/devstoreaccount1;"
    )
    env = {
        **os.environ,
        "ALLOW_UNAUTHENTICATED": "true",
        "HOST": "127.0.0.1",
        "PORT": str(bot_port),
        "TABLES_CONNECTION_STRING": os.environ.get("TABLES_CONNECTION_STRING", connection),
        "TABLE_PREFIX": os.environ.get("TABLE_PREFIX", "dev"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("BOT_ID", None)
    if not any(shutil.which(opener) for opener in ("xdg-open", "open", "wslview")):
        # The Playground opens a browser itself and exits when it cannot (a headless machine, a container);
        # there, it only serves, and the URL printed below is what to open.
        env["TEAMSAPPTESTER_BROWSER"] = "none"
    processes: list[tuple[str, subprocess.Popen]] = []
    # Children ignore the terminal's Ctrl-C; this script forwards it in order instead.
    detach = {"start_new_session": True}
    # Installed explicitly: a shell that starts this in the background would leave SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        say(f"starting Azurite (tables) on 127.0.0.1:{table_port}, data in {data.relative_to(ROOT)}/")
        azurite = subprocess.Popen(
            [str(BIN / "azurite-table"), "--tableHost", "127.0.0.1", "--tablePort", str(table_port),
             "--location", str(data), "--disableTelemetry", "--silent"],
            cwd=ROOT, **detach,
        )
        processes.append(("Azurite", azurite))
        wait_until(lambda: port_open(table_port), "Azurite", 30, azurite)

        # The demo roster, and the labelled test handbook so that triage cards show suggestions; both only into empty tables.
        for args in (["demo-seed", str(ROOT / "scripts" / "demo_roster.yaml")],
                     ["handbook", "import", "--if-empty", str(ROOT / "tests" / "data" / "handbook.md")]):
            seed = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True)
            say((seed.stdout or seed.stderr).strip())
            if seed.returncode:
                return seed.returncode

        say(f"starting the bot on http://127.0.0.1:{bot_port}/api/messages")
        bot = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, **detach)
        processes.append(("the bot", bot))
        wait_until(lambda: healthy(f"http://127.0.0.1:{bot_port}/healthz"), "the bot", 30, bot)

        say("starting the Microsoft 365 Agents Playground (Teams client)")
        playground = subprocess.Popen(
            [str(BIN / "agentsplayground"), "-e", f"http://127.0.0.1:{bot_port}/api/messages", "-c", "msteams",
             "--disable-telemetry"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **detach,
        )
        processes.append(("the Playground", playground))
        threading.Thread(target=_relay_playground, args=(playground,), daemon=True).start()
        while all(p.poll() is None for _, p in processes):
            time.sleep(0.5)
        dead = next(name for name, p in processes if p.poll() is not None)
        say(f"{dead} stopped unexpectedly; stopping the rest")
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as err:
        say(str(err))
        return 1
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
