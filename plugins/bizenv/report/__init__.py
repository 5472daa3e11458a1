"""Outputs for staff: ranking digests, CSV exports (HTML and XLSX to come)."""
