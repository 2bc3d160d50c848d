"""The gate's scanners: every container image reference in a set of files, with file and line.

Pure: no network. `scan_files` is the entry point (see `scan.py`); one module per format.
"""

from __future__ import annotations

from shipsign.gate.refs.limits import MAX_FILE_BYTES
from shipsign.gate.refs.scan import HELM_ON_PATH, scan_files

__all__ = ["HELM_ON_PATH", "MAX_FILE_BYTES", "scan_files"]
