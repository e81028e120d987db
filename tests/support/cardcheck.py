"""Check Adaptive Cards with the official adaptivecards parser plus Teams rules (via Node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT: Path = Path(__file__).parents[2]
SCRIPT: Path = Path(__file__).with_name("cardcheck.js")
BUNDLE: Path = REPO_ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js"
TIMEOUT_SECONDS: float = 60.0
EXCERPT_CHARS: int = 120


def card_problems(cards: list[dict[str, Any]]) -> list[list[str]]:
    """Return each card's problems (empty list = valid), checking the whole batch in one node run."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("cardcheck needs Node.js: `node` was not found on PATH")
    if not BUNDLE.is_file():
        raise RuntimeError(
            f"cardcheck needs the npm package adaptivecards: {BUNDLE} is missing "
            f"(run `npm install` in {REPO_ROOT})"
        )
    completed = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(list(cards)),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO_ROOT,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"cardcheck.js failed with exit code {completed.returncode}: {completed.stderr.strip()}"
        )
    results = json.loads(completed.stdout)
    if not isinstance(results, list) or len(results) != len(cards):
        raise RuntimeError(f"cardcheck.js returned {completed.stdout[:200]!r} for {len(cards)} cards")
    return results


def _excerpt(card: Any) -> str:
    """Return the start of a card's compact JSON for error messages."""
    text = json.dumps(card, separators=(",", ":"), ensure_ascii=False, default=repr)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def assert_valid_cards(*cards: dict[str, Any]) -> None:
    """Raise AssertionError listing every problem of every invalid card."""
    if not cards:
        return
    reports = [
        f"card #{index} {_excerpt(card)}\n" + "\n".join(f"  - {problem}" for problem in problems)
        for index, (card, problems) in enumerate(zip(cards, card_problems(list(cards))))
        if problems
    ]
    if reports:
        raise AssertionError(f"{len(reports)} of {len(cards)} cards invalid:\n" + "\n".join(reports))
