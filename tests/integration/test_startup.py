"""Start-up that fails (Table Storage unreachable): exit code 3, one line that says why, and no client left open."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, connection_string, free_port


@pytest.mark.parametrize("sdk", ["botbuilder", "agents"])
def test_start_up_without_table_storage_exits_3_and_closes_every_client(sdk, prefix):
    env = {"ALLOW_UNAUTHENTICATED": "true", "TEAMS_SDK": sdk, "PORT": str(free_port()), "TABLE_PREFIX": prefix,
           "TABLES_CONNECTION_STRING": connection_string(free_port()),  # nobody listens there
           "JIRA_BASE_URL": "http://127.0.0.1:9", "JIRA_EMAIL": "bot@liefery.example", "JIRA_API_TOKEN": "t",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "cannot start: creating table" in done.stderr
    assert "Unclosed" not in done.stderr, done.stderr
