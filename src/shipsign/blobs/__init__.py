"""Signing files: expand globs, hash by streaming, write bundles (and a checksums file)."""
