"""The model-based test of a week (tests/integration/test_week_model.py), run long: many random weeks.

    .venv/bin/python -m bench.week_soak                     # 200 weeks of up to 40 steps, random seeds
    .venv/bin/python -m bench.week_soak --examples 50 --steps 30
    make soak                                               # the same as the first line

It starts its own Azurite, runs the state machine with Hypothesis (not derandomized, so each run explores new
weeks), and prints how many weeks (examples) and steps ran and how long it took. A failing week is printed as
Hypothesis' minimal reproduction and the exit code is 1. Figures go to bench/results/week_soak.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from bench.provenance import git_state, machine
from tests.integration.test_week_model import Week
from tests.support.processes import Azurite

RESULTS = Path(__file__).resolve().parent / "results" / "week_soak.json"


def main() -> int:
    """Run the weeks and report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    counts = {"examples": 0, "steps": 0}
    checked: dict[str, int] = {}

    class Counted(Week):
        def __init__(self) -> None:
            super().__init__()
            counts["examples"] += 1

        def teardown(self) -> None:
            counts["steps"] += self.steps
            for what, n in self.checked.items():
                checked[what] = checked.get(what, 0) + n
            super().teardown()

    azurite = Azurite().start()
    started = time.monotonic()
    failure = ""
    try:
        Counted.connection_string = azurite.connection_string
        run_state_machine_as_test(Counted, settings=settings(
            max_examples=args.examples, stateful_step_count=args.steps, deadline=None,
            suppress_health_check=list(HealthCheck), database=None,
        ))
    except Exception as err:  # noqa: BLE001 - a failing week is the finding; report it and exit 1
        failure = f"{type(err).__name__}: {err}"
    finally:
        azurite.stop()
    seconds = time.monotonic() - started
    result = {"weeks": counts["examples"], "steps": counts["steps"], "seconds": round(seconds, 1),
              "steps_per_second": round(counts["steps"] / seconds, 1) if seconds else None,
              "checked": checked, "failure": failure or None, "max_examples": args.examples, "max_steps": args.steps,
              "git": git_state(), "machine": machine()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"weeks (examples) run: {counts['examples']}; steps run: {counts['steps']}; {seconds:.0f} s; "
          + ("no invariant broken" if not failure else f"FAILED: {failure}"))
    print("checked: " + ", ".join(f"{what} {n}" for what, n in sorted(checked.items())))
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
