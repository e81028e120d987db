"""Start and stop the real local parts for tests: Azurite and the bot process."""

from __future__ import annotations

import os
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
    """An in-memory Azurite table service on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        """How to reach it."""
        return connection_string(self.port)

    def start(self) -> "Azurite":
        """Start it and wait until it listens."""
        binary = ROOT / "node_modules" / ".bin" / "azurite-table"
        if not binary.exists():
            raise RuntimeError("azurite is not installed: run `make test` (it runs npm ci)")
        self.process = subprocess.Popen(
            [str(binary), "--tableHost", "127.0.0.1", "--tablePort", str(self.port),
             "--inMemoryPersistence", "--disableTelemetry", "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 20, self.process)
        return self

    def stop(self) -> None:
        """Stop it."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
        if getattr(self, "_log", None):
            self._log.close()


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONUNBUFFERED"] = "1"
    return env
