"""The Teams app package: the manifest passes the Toolkit's validator, the icons follow Teams' rules,
the command lists match the bot's registered commands, and `make package` fills every placeholder."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from bot.core.events import Scope
from tests.support.routers import app_routers

router = app_routers()[0]

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGE = ROOT / "appPackage"
MANIFEST = APP_PACKAGE / "manifest.json"
ATK = ROOT / "node_modules" / ".bin" / "atk"
ATK_TIMEOUT_SECONDS = 180
ATK_SCHEMAS = ROOT / "node_modules" / "@microsoft" / "m365agentstoolkit-cli" / "json-schemas" / "teams"

TEST_VALUES = {
    "TEAMS_APP_ID": "8f5d3c1e-2b4a-4c6d-9e8f-0a1b2c3d4e5f",
    "BOT_ID": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
    "BOT_DOMAIN": "bot.example.com",
}


def max_commands(manifest_version: str) -> int:
    """How many commands one command list may hold: 10 up to manifest schema 1.23, 12 from 1.24 on."""
    major, minor = (int(part) for part in manifest_version.split("."))
    return 12 if (major, minor) >= (1, 24) else 10


# The manifest's bot scopes and where the router sees a message from each.
ROUTER_SCOPE = {"personal": Scope.PERSONAL, "team": Scope.CHANNEL, "groupChat": Scope.GROUP_CHAT}


def load_script(name: str) -> ModuleType:
    """A module from scripts/ (a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"_scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


package_app = load_script("package_app")
make_icons = load_script("make_icons")


@pytest.fixture(scope="module")
def template() -> dict:
    """appPackage/manifest.json as committed, placeholders and all."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """A Toolkit env file with test values for every placeholder."""
    path = tmp_path / ".env.test"
    path.write_text("# test values\n" + "".join(f"{k}={v}\n" for k, v in TEST_VALUES.items()), encoding="utf-8")
    return path


@pytest.fixture
def filled(env_file: Path) -> dict:
    """The manifest with the test values filled in, as `make package` does it."""
    return json.loads(package_app.build_manifest(env_file, environ={}))


# --- the manifest as the Toolkit validates it -----------------------------------------------------


@dataclass(frozen=True)
class AtkRun:
    """What one atk command printed, and how it exited."""

    returncode: int
    output: str


def start_atk(args: list[str], cwd: Path, home: Path) -> subprocess.Popen:
    """Start atk non-interactively, without telemetry, with a private HOME (it keeps state under ~/.fx)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "NO_UPDATE_NOTIFIER": "1", "CI": "true"}
    for name in TEST_VALUES:
        env.pop(name, None)  # atk lets the process environment fill placeholders; only the files may here
    return subprocess.Popen(
        [str(ATK), *args, "--telemetry", "false", "--interactive", "false"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def atk_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AtkRun]:
    """The three atk validations, run side by side (each takes seconds, mostly Node start-up):
    - "filled": `atk validate --manifest-file` on the manifest filled with test values;
    - "broken": the same with a bot id that is no GUID (a missing `bots` would still be schema-valid;
      a leftover ${{BOT_ID}} is no good either: atk then looks for m365agents.yml to fill it);
    - "project": the Toolkit's own route, m365agents.yml + env/.env.test + the template, as `atk provision` sees them.
    """
    if not ATK.exists():
        pytest.fail(f"{ATK} is missing: run `make install` (npm ci installs @microsoft/m365agentstoolkit-cli)")
    base = tmp_path_factory.mktemp("atk")
    env_file = base / ".env.test"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in TEST_VALUES.items()), encoding="utf-8")
    filled = json.loads(package_app.build_manifest(env_file, environ={}))
    broken = json.loads(json.dumps(filled))
    broken["bots"][0]["botId"] = "support-bot"
    processes = {}
    for name, manifest in (("filled", filled), ("broken", broken)):
        folder = base / name
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        processes[name] = start_atk(["validate", "--manifest-file", "manifest.json"], folder, folder / "home")

    project = base / "project"
    shutil.copytree(APP_PACKAGE, project / "appPackage")
    shutil.copy(ROOT / "m365agents.yml", project / "m365agents.yml")
    (project / "env").mkdir()
    lines = (ROOT / "env" / ".env.dev").read_text(encoding="utf-8").splitlines()
    lines = [f"{line.split('=')[0]}={TEST_VALUES[line.split('=')[0]]}" if line.split("=")[0] in TEST_VALUES else line for line in lines]
    (project / "env" / ".env.test").write_text("\n".join(lines) + "\n", encoding="utf-8")
    processes["project"] = start_atk(
        ["validate", "--manifest-file", "appPackage/manifest.json", "--env", "test"], project, project / "home"
    )

    runs = {}
    try:
        for name, process in processes.items():
            output, _ = process.communicate(timeout=ATK_TIMEOUT_SECONDS)
            runs[name] = AtkRun(process.returncode, output)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return runs


@pytest.mark.slow
def test_the_filled_manifest_passes_atk_validate(atk_runs: dict[str, AtkRun]) -> None:
    run = atk_runs["filled"]
    assert run.returncode == 0, f"atk validate failed:\n{run.output}"


@pytest.mark.slow
def test_atk_validate_rejects_a_manifest_whose_bot_id_is_no_guid(atk_runs: dict[str, AtkRun]) -> None:
    run = atk_runs["broken"]
    assert run.returncode != 0, f"atk validate accepted a broken manifest:\n{run.output}"
    assert "/bots/0/botId" in run.output, run.output


@pytest.mark.slow
def test_atk_fills_the_placeholders_from_the_project_env_file(atk_runs: dict[str, AtkRun]) -> None:
    run = atk_runs["project"]
    assert run.returncode == 0, f"atk validate --env test failed:\n{run.output}"


def test_the_manifest_uses_a_schema_version_atk_bundles(template: dict) -> None:
    version = template["manifestVersion"]
    major, minor = (int(part) for part in version.split("."))
    # atk bundles v1.0 to v1.30 except 1.18; any other version makes it fetch the schema online.
    assert (major, minor) >= (1, 19) and (major, minor) <= (1, 30), version
    assert template["$schema"].endswith(f"/v{version}/MicrosoftTeams.schema.json")


@pytest.mark.slow
@pytest.mark.parametrize("version", ["1.22", "1.23", "1.24", "1.30"])
def test_the_command_limit_is_the_bundled_schemas(version: str) -> None:
    schema = json.loads((ATK_SCHEMAS / f"v{version}" / "MicrosoftTeams.schema.json").read_text(encoding="utf-8"))
    commands = schema["properties"]["bots"]["items"]["properties"]["commandLists"]["items"]["properties"]["commands"]
    assert commands["maxItems"] == max_commands(version)


def test_ids_and_domains_are_toolkit_placeholders(template: dict) -> None:
    assert template["id"] == "${{TEAMS_APP_ID}}"
    assert template["bots"][0]["botId"] == "${{BOT_ID}}"
    assert template["validDomains"] == ["${{BOT_DOMAIN}}"]
    assert template["webApplicationInfo"]["id"] == "${{BOT_ID}}"
    assert template["name"]["short"] == "Support Rotation"


def test_the_bot_works_in_personal_chats_teams_and_group_chats(template: dict) -> None:
    (bot_entry,) = template["bots"]
    assert set(bot_entry["scopes"]) == {"personal", "team", "groupChat"}
    assert bot_entry["isNotificationOnly"] is False


def test_the_manifest_asks_for_channel_messages_without_a_mention(template: dict) -> None:
    # The #backend watch needs replies in a request's thread, which Teams only delivers with this RSC permission.
    permissions = template["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in permissions
    assert template["webApplicationInfo"]["resource"], "RSC needs webApplicationInfo with a resource"


# --- the command lists -----------------------------------------------------------------------------


def command_lists(manifest: dict) -> dict[str, list[str]]:
    """Manifest scope to the command titles listed for it."""
    lists: dict[str, list[str]] = {}
    for entry in manifest["bots"][0]["commandLists"]:
        for scope in entry["scopes"]:
            assert scope not in lists, f"scope {scope} has two command lists"
            lists[scope] = [command["title"] for command in entry["commands"]]
    return lists


def test_every_bot_scope_has_a_command_list(template: dict) -> None:
    assert set(command_lists(template)) == set(template["bots"][0]["scopes"])


@pytest.mark.parametrize("scope", sorted(ROUTER_SCOPE))
def test_every_listed_command_is_one_the_bot_handles_there(template: dict, scope: str) -> None:
    handled = {command.name for command in router.commands(ROUTER_SCOPE[scope])}
    for title in command_lists(template).get(scope, []):
        assert title in handled, f"the {scope} command list offers {title!r}, which the bot does not handle there"
        assert router.match(title, ROUTER_SCOPE[scope]) is not None


@pytest.mark.parametrize("scope", sorted(ROUTER_SCOPE))
def test_every_command_the_bot_registers_is_listed(template: dict, scope: str) -> None:
    listed = command_lists(template).get(scope, [])
    registered = [command.name for command in router.commands(ROUTER_SCOPE[scope])]
    missing = [name for name in registered if name not in listed]
    limit = max_commands(template["manifestVersion"])
    assert len(listed) == len(set(listed)), f"the {scope} command list repeats a command"
    if len(registered) > limit:
        # The schema allows `limit` per scope: then the list must be full, and `help` names the rest.
        assert len(listed) == limit and "help" in listed, (
            f"the bot has {len(registered)} {scope} commands; list {limit} of them, help among them"
        )
    else:
        assert not missing, f"add {missing} to the {scope} command list in appPackage/manifest.json"


def test_who_comes_first_in_every_command_list(template: dict) -> None:
    assert all(titles[0] == "who" for titles in command_lists(template).values())


# --- the icons ------------------------------------------------------------------------------------


def read_png(path: Path) -> tuple[int, int, list[list[tuple[int, int, int, int]]]]:
    """Width, height and RGBA rows of an 8-bit, non-interlaced PNG (grey, RGB, grey+alpha or RGBA)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"{path}: bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    assert depth == 8 and channels and interlace == 0, f"{path}: only 8-bit non-interlaced grey/RGB(A) is read here"
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
                line[i] = (line[i] + predictor) & 0xFF
        previous = line
        row = []
        for x in range(width):
            px = line[x * channels : (x + 1) * channels]
            if channels == 1:
                row.append((px[0], px[0], px[0], 255))
            elif channels == 2:
                row.append((px[0], px[0], px[0], px[1]))
            elif channels == 3:
                row.append((px[0], px[1], px[2], 255))
            else:
                row.append(tuple(px))
        rows.append(row)
    return width, height, rows


def test_the_colour_icon_is_192_square_and_opaque(template: dict) -> None:
    width, height, rows = read_png(APP_PACKAGE / template["icons"]["color"])
    assert (width, height) == (192, 192)
    assert all(pixel[3] == 255 for row in rows for pixel in row)


def test_the_outline_icon_is_32_square_white_on_transparent(template: dict) -> None:
    width, height, rows = read_png(APP_PACKAGE / template["icons"]["outline"])
    assert (width, height) == (32, 32)
    alphas = [pixel[3] for row in rows for pixel in row]
    not_white = [(x, y, p) for y, row in enumerate(rows) for x, p in enumerate(row) if p[3] and p[:3] != (255, 255, 255)]
    assert not not_white, f"outline pixels that are visible but not #FFFFFF: {not_white[:5]}"
    assert 0 in alphas, "the background must be transparent"
    assert any(a == 255 for a in alphas), "the symbol must be drawn"
    assert sum(1 for a in alphas if a == 0) > len(alphas) // 4, "mostly symbol: is the background transparent?"


def test_the_committed_icons_are_what_make_icons_draws(tmp_path: Path) -> None:
    make_icons.main(["--out", str(tmp_path)])
    for name in ("color.png", "outline.png"):
        assert read_png(tmp_path / name) == read_png(APP_PACKAGE / name), (
            f"appPackage/{name} differs from scripts/make_icons.py's drawing; run python scripts/make_icons.py"
        )


def test_the_png_reader_can_fail(tmp_path: Path) -> None:
    broken = bytearray((APP_PACKAGE / "outline.png").read_bytes())
    broken[20] ^= 0xFF  # inside IHDR, so its CRC no longer matches
    (tmp_path / "broken.png").write_bytes(bytes(broken))
    with pytest.raises(AssertionError, match="CRC"):
        read_png(tmp_path / "broken.png")


# --- make package ---------------------------------------------------------------------------------


def test_make_package_builds_a_zip_with_the_manifest_filled_and_both_icons(env_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "build" / "appPackage.zip"
    assert package_app.main(["--env-file", str(env_file), "--output", str(output)]) == 0
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        text = archive.read("manifest.json").decode("utf-8")
        assert archive.read("color.png") == (APP_PACKAGE / "color.png").read_bytes()
    assert "${{" not in text
    manifest = json.loads(text)
    assert manifest["id"] == TEST_VALUES["TEAMS_APP_ID"]
    assert manifest["bots"][0]["botId"] == TEST_VALUES["BOT_ID"]
    assert manifest["validDomains"] == [TEST_VALUES["BOT_DOMAIN"]]


def test_an_unsubstituted_placeholder_fails_the_build_naming_it(tmp_path: Path) -> None:
    env = tmp_path / ".env.dev"
    env.write_text("TEAMS_APP_ID=8f5d3c1e-2b4a-4c6d-9e8f-0a1b2c3d4e5f\nBOT_ID=\n", encoding="utf-8")
    output = tmp_path / "appPackage.zip"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "package_app.py"), "--env-file", str(env), "--output", str(output)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in TEST_VALUES},
        check=False,
    )
    assert result.returncode == 1
    assert "${{BOT_ID}}" in result.stderr and "${{BOT_DOMAIN}}" in result.stderr
    assert "${{TEAMS_APP_ID}}" not in result.stderr
    assert not output.exists()


def test_the_environment_wins_over_the_env_file(env_file: Path) -> None:
    manifest = json.loads(package_app.build_manifest(env_file, environ={"BOT_DOMAIN": "other.example.com"}))
    assert manifest["validDomains"] == ["other.example.com"]


def test_an_app_id_that_is_no_guid_fails_the_build(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TEAMS_APP_ID=my-app\nBOT_ID=1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5\nBOT_DOMAIN=x.example.com\n")
    with pytest.raises(package_app.PackageError, match="TEAMS_APP_ID"):
        package_app.build_manifest(env, environ={})


def test_the_committed_dev_env_file_names_every_manifest_placeholder() -> None:
    names = set(re.findall(r"\$\{\{\s*(\w+)\s*\}\}", MANIFEST.read_text(encoding="utf-8")))
    assert names == set(TEST_VALUES)
    assert names <= set(package_app.read_env_file(ROOT / "env" / ".env.dev"))
