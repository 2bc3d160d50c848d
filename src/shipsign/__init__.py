"""shipsign: keyless, cosign-compatible signing and verification of what a project ships."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
