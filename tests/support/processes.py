"""Start and stop the real local parts for tests: Azurite and the bot process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Block until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def connection_string(port: int) -> str:
    """The Azurite development account on a given table port."""
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


class Azurite:
    """An Azurite table service on a free port: in memory, or on disk under `location`.

    On disk it can be stopped (SIGINT, so it flushes: it autosaves only every 5 s) and started again on the
    same port with the same data, as a storage outage in the middle of a flow.
    """

    def __init__(self, location: Path | str | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.location = Path(location) if location is not None else None
        self.process: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        """How to reach it."""
        return connection_string(self.port)

    def start(self) -> "Azurite":
        """Start it (again, on the same port and data) and wait until it listens."""
        binary = ROOT / "node_modules" / ".bin" / "azurite-table"
        if not binary.exists():
            raise RuntimeError("azurite is not installed: run `make test` (it runs npm ci)")
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
            store = ["--location", str(self.location)]
        else:
            store = ["--inMemoryPersistence"]
        self.process = subprocess.Popen(
            [str(binary), "--tableHost", "127.0.0.1", "--tablePort", str(self.port),
             *store, "--disableTelemetry", "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 20, self.process)
        return self

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10) -> None:
        """Stop it: SIGINT on disk (Azurite saves only then), SIGTERM in memory; SIGKILL if it hangs."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT if self.location is not None else signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, down_seconds: float = 0.0) -> "Azurite":
        """Stop it, stay down for a while, start it again on the same port (the data survives only on disk)."""
        self.stop()
        time.sleep(down_seconds)
        return self.start()


class BotProcess:
    """`python app.py` as in production, with an environment of the test's choosing."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = int(env.get("PORT") or free_port())
        self.env = {**_base_env(), **env, "PORT": str(self.port)}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The bot's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> "BotProcess":
        """Start the process and, unless told otherwise, wait until it serves /healthz."""
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=self.env, stdout=self._log, stderr=self._log
        )
        if wait:
            wait_for_port(self.port, 20, self.process)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                        if answer.status == 200:
                            return self
                except OSError:
                    time.sleep(0.05)
            raise TimeoutError(f"bot not healthy; log:\n{self.log()}")
        return self

    def run_to_exit(self, timeout: float = 20) -> int:
        """Start and wait for the process to end by itself; its exit code."""
        self.start(wait=False)
        return self.process.wait(timeout)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, no cleanup, leases and in-flight sends left as they are."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def restart(self, port: int | None = None, wait: bool = True) -> "BotProcess":
        """Start it again on the same tables (same environment), on the same port unless another is given."""
        if self.alive():
            raise RuntimeError("the bot still runs; stop() or kill() it first")
        if port is not None:
            self.port = port
            self.env["PORT"] = str(port)
        return self.start(wait=wait)

    def _close_log(self) -> None:
        if getattr(self, "_log", None) and not self._log.closed:
            self._log.close()


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONUNBUFFERED"] = "1"
    return env
