"""Signing files: expand globs, hash by streaming, write bundles (and a checksums file).

`plan_files(FileSignOptions(...))` decides what is signed and written (bad input fails there,
before anything is written); `sign_files(session, plan)` signs in the run's signing session and
writes. `model` holds the values every front end and the release upload share.
"""

from __future__ import annotations

from shipsign.blobs.checksums import format_checksums
from shipsign.blobs.digest import hash_file
from shipsign.blobs.model import FileOutcome, FileResult, FileSignOptions
from shipsign.blobs.outputs import BUNDLE_SUFFIX, output_paths
from shipsign.blobs.plan import FilePlan, PlannedFile, plan_files
from shipsign.blobs.sign import sign_files

__all__ = [
    "BUNDLE_SUFFIX",
    "FileOutcome",
    "FilePlan",
    "FileResult",
    "FileSignOptions",
    "PlannedFile",
    "format_checksums",
    "hash_file",
    "output_paths",
    "plan_files",
    "sign_files",
]
