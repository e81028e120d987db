"""Build the Teams app package: python scripts/package_app.py [--env-file env/.env.dev] [--output build/appPackage.zip].

The manifest carries Microsoft 365 Agents Toolkit placeholders (`${{TEAMS_APP_ID}}`, `${{BOT_ID}}`,
`${{BOT_DOMAIN}}`, ...). They are filled from the env file (KEY=VALUE lines, `#` comments), and a
variable set in the process environment wins over the file, as in CI. A placeholder that is left
unknown or empty stops the build, naming each one, so no package with `${{...}}` in it is ever made.
The zip holds manifest.json, color.png and outline.png at its root, with fixed timestamps so the same
inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGE = ROOT / "appPackage"
ICONS = ("color.png", "outline.png")
PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The package can't be built; the message says why and what to do."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs from a Toolkit env file; blank lines and # comments are skipped, quotes removed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise PackageError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def substitute(text: str, values: Mapping[str, str], source: str) -> str:
    """Fill every ${{NAME}}; raise PackageError naming all placeholders that are unknown or empty."""
    missing = sorted({name for name in PLACEHOLDER.findall(text) if not values.get(name, "").strip()})
    if missing:
        raise PackageError(
            "unsubstituted placeholders in appPackage/manifest.json: "
            + ", ".join(f"${{{{{name}}}}}" for name in missing)
            + f"; set them in {source} (atk provision writes them) or in the environment"
        )
    # json.dumps(...)[1:-1] escapes a value for the inside of a JSON string.
    return PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)].strip())[1:-1], text)


def check_manifest(manifest: dict) -> None:
    """What the schema validator leaves out: the app id must be a GUID, and so must the bot id."""
    if not GUID.match(str(manifest.get("id", ""))):
        raise PackageError(f"manifest id must be a GUID (TEAMS_APP_ID), got {manifest.get('id')!r}")
    for bot in manifest.get("bots", []):
        if not GUID.match(str(bot.get("botId", ""))):
            raise PackageError(f"bot id must be a GUID (BOT_ID), got {bot.get('botId')!r}")


def build_manifest(env_file: Path, environ: Mapping[str, str] | None = None, package_dir: Path = APP_PACKAGE) -> str:
    """The manifest's text with placeholders filled from env_file, overridden by environ."""
    if not env_file.is_file():
        raise PackageError(f"env file {env_file} not found (pass --env-file, or ENV_FILE=... to make package)")
    values = read_env_file(env_file)
    values.update({k: v for k, v in (environ if environ is not None else os.environ).items() if v.strip()})
    text = substitute((package_dir / "manifest.json").read_text(encoding="utf-8"), values, str(env_file))
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as err:
        raise PackageError(f"manifest.json is not valid JSON after substitution: {err}") from None
    check_manifest(manifest)
    return text


def write_package(manifest_text: str, output: Path, package_dir: Path = APP_PACKAGE) -> None:
    """The zip: manifest.json and both icons at its root."""
    for icon in ICONS:
        if not (package_dir / icon).is_file():
            raise PackageError(f"{package_dir / icon} is missing; run python scripts/make_icons.py")
    output.parent.mkdir(parents=True, exist_ok=True)
    files = [("manifest.json", manifest_text.encode("utf-8"))]
    files += [(icon, (package_dir / icon).read_bytes()) for icon in ICONS]
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    partial.replace(output)


def main(argv: list[str] | None = None) -> int:
    """Build the package, or print one line saying why not and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=ROOT / "env" / ".env.dev")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "appPackage.zip")
    parser.add_argument("--manifest-only", action="store_true", help="write only the filled manifest.json to --output")
    args = parser.parse_args(argv)
    try:
        text = build_manifest(args.env_file)
        if args.manifest_only:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text, encoding="utf-8")
        else:
            write_package(text, args.output)
    except PackageError as err:
        print(f"package: {err}", file=sys.stderr)
        return 1
    print(f"package: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
