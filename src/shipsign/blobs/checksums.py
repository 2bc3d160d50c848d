"""The checksums file shipsign writes beside the files it signs (`--checksums NAME`): the
`sha256sum` format of `shipsign.formats.checksums`, re-exported for the layers above."""

from __future__ import annotations

from shipsign.formats.checksums import (
    ChecksumEntry,
    ChecksumsError,
    format_checksums,
    line_for,
    parse_checksums,
)

__all__ = ["ChecksumEntry", "ChecksumsError", "format_checksums", "line_for", "parse_checksums"]
