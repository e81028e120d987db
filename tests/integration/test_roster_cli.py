"""python -m bot roster import/export against Azurite."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.processes import ROOT
from tests.unit.test_roster_file import VALID


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=60,
    )


def test_import_is_idempotent_and_export_round_trips(tmp_path: Path, storage_env):
    roster = tmp_path / "roster.yaml"
    roster.write_text(VALID)
    first = run(["roster", "import", str(roster)], storage_env)
    assert first.returncode == 0, first.stderr
    assert "4 added, 0 updated, 0 unchanged" in first.stdout  # three members and one week
    again = run(["roster", "import", str(roster)], storage_env)
    assert "0 added, 0 updated, 4 unchanged" in again.stdout
    exported = run(["roster", "export"], storage_env)
    assert exported.returncode == 0, exported.stderr
    data = yaml.safe_load(exported.stdout)
    assert [m["email"] for m in data["members"]] == ["dora.dev@liefery.example", "fritz@liefery.example", "paula@liefery.example"]
    assert data["weeks"][0]["pair"] == ["dora.dev@liefery.example", "paula@liefery.example"]
    assert data["weeks"][0]["fallback_days"] == ["fri"]


def test_changed_file_updates_only_what_differs(tmp_path: Path, storage_env):
    roster = tmp_path / "roster.yaml"
    roster.write_text(VALID)
    run(["roster", "import", str(roster)], storage_env)
    roster.write_text(VALID.replace("role: lead", "role: member"))
    result = run(["roster", "import", str(roster)], storage_env)
    assert "0 added, 1 updated, 3 unchanged" in result.stdout


def test_invalid_file_writes_nothing_and_reports_lines(tmp_path: Path, storage_env):
    roster = tmp_path / "roster.yaml"
    roster.write_text(VALID.replace("role: lead", "role: boss").replace("2026-12-02", "2026-12-03"))
    result = run(["roster", "import", str(roster)], storage_env)
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert "line 12: members[1].role must be member or lead" in result.stderr
    assert "line 18: weeks[0].start 2026-12-03 is a thu" in result.stderr
    assert "Traceback" not in result.stderr
    exported = run(["roster", "export"], storage_env)
    assert yaml.safe_load(exported.stdout) == {"members": [], "weeks": []}


def test_missing_storage_setting_is_one_clear_line(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLES_")}
    result = subprocess.run([sys.executable, "-m", "bot", "roster", "export"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: TABLES_CONNECTION_STRING: is not set (nor TABLES_ENDPOINT for managed identity)"
