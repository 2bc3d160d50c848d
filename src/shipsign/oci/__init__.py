"""oci layer."""
