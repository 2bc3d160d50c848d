"""keyless layer."""
