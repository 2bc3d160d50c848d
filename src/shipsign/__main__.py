"""`python -m shipsign`: the same entry point as the console script."""

from __future__ import annotations

from shipsign.cli import run

if __name__ == "__main__":
    run()
