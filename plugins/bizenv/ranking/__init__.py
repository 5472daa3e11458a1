"""Composite scores, ranks within comparison groups, and rank intervals."""
