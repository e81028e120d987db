"""python -m bot handbook import/export against Azurite."""

from pathlib import Path

from bot.domain.handbook import parse_handbook
from tests.integration.test_roster_cli import run
from tests.support.processes import ROOT

HANDBOOK = ROOT / "tests" / "data" / "handbook.md"


def test_import_is_idempotent_and_export_round_trips(tmp_path: Path, storage_env):
    entries = parse_handbook(HANDBOOK.read_text(encoding="utf-8"))
    first = run(["handbook", "import", str(HANDBOOK)], storage_env)
    assert first.returncode == 0, first.stderr
    assert f"{len(entries)} added, 0 updated, 0 unchanged" in first.stdout
    again = run(["handbook", "import", str(HANDBOOK)], storage_env)
    assert f"0 added, 0 updated, {len(entries)} unchanged" in again.stdout
    demo = run(["handbook", "import", "--if-empty", str(HANDBOOK)], storage_env)
    assert "skipped, the handbook already has entries" in demo.stdout

    exported = tmp_path / "export.md"
    result = run(["handbook", "export", "-o", str(exported)], storage_env)
    assert result.returncode == 0, result.stderr
    back = {e.id: e for e in parse_handbook(exported.read_text(encoding="utf-8"))}
    assert set(back) == {e.id for e in entries}
    assert all(back[e.id].same_text(e) for e in entries)
    assert all(back[e.id].added_by == "import" for e in entries)
    # The export imports back as unchanged, and exports to the same text.
    assert f"0 added, 0 updated, {len(entries)} unchanged" in run(["handbook", "import", str(exported)], storage_env).stdout
    assert run(["handbook", "export"], storage_env).stdout == exported.read_text(encoding="utf-8")


def test_an_edited_wiki_updates_the_text_and_keeps_the_use_count(tmp_path: Path, storage_env):
    import asyncio

    from bot.bootstrap import build_services
    from bot.config import load_storage_settings

    run(["handbook", "import", str(HANDBOOK)], storage_env)
    entry = parse_handbook(HANDBOOK.read_text(encoding="utf-8"))[0]

    async def use_twice():
        services = build_services(load_storage_settings(storage_env))
        try:
            await services.handbook.count_use(entry.id)
            await services.handbook.count_use(entry.id)
        finally:
            await services.store.close()

    asyncio.run(use_twice())
    edited = tmp_path / "edited.md"
    edited.write_text(HANDBOOK.read_text(encoding="utf-8").replace(entry.solution.splitlines()[0], "A better first line."), encoding="utf-8")
    result = run(["handbook", "import", str(edited)], storage_env)
    assert "0 added, 1 updated" in result.stdout, result.stdout + result.stderr
    exported = {e.id: e for e in parse_handbook(run(["handbook", "export"], storage_env).stdout)}
    assert exported[entry.id].solution.startswith("A better first line.")
    assert f"id={entry.id}; added_by=import" in run(["handbook", "export"], storage_env).stdout
    assert "uses=2" in run(["handbook", "export"], storage_env).stdout.split(f"id={entry.id}")[1].split("-->")[0]


def test_malformed_file_writes_nothing_and_reports_lines(tmp_path: Path, storage_env):
    bad = tmp_path / "bad.md"
    bad.write_text("# Handbook\n\nstray text\n\n## Good entry\nA solution.\n\n## Empty entry\n\n## Links\nLinks: nope\nText.\n", encoding="utf-8")
    result = run(["handbook", "import", str(bad)], storage_env)
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert "line 3: text before the first `## ` section" in result.stderr
    assert "line 8: entry 'Empty entry' has no solution text" in result.stderr
    assert "line 11: not a link: 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
    assert run(["handbook", "export"], storage_env).stdout == "# Backend support handbook\n"
    check = run(["handbook", "import", "--check", str(HANDBOOK)], storage_env)
    assert check.returncode == 0 and "valid (" in check.stdout
