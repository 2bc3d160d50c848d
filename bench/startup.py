"""Start-up cost of `shipsign --help`, measured beside its baselines in the same run.

Prints one JSON line per command: median wall seconds over N runs and the ratio to bare Python.
Target (issue 2): `shipsign --help` under 0.3 s here.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time

RUNS = 9
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "shipsign --help": [sys.executable, "-m", "shipsign", "--help"],
    "shipsign --version": [sys.executable, "-m", "shipsign", "--version"],
    "shipsign verify --help": [sys.executable, "-m", "shipsign", "verify", "--help"],
    "python -c 'import requests'": [sys.executable, "-c", "import requests"],
    "python -c 'import sigstore.sign, sigstore.verify'": [
        sys.executable,
        "-c",
        "import sigstore.sign, sigstore.verify",
    ],
}


def _median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run every command RUNS times and print one JSON line each."""
    baseline = _median_seconds(COMMANDS["python -c pass"])
    machine = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    for name, argv in COMMANDS.items():
        median = baseline if name == "python -c pass" else _median_seconds(argv)
        row = {
            "bench": "startup",
            "command": name,
            "median_s": round(median, 4),
            "runs": RUNS,
            "ratio_to_bare_python": round(median / baseline, 2),
            "machine": machine,
        }
        print(json.dumps(row))


if __name__ == "__main__":
    main()
