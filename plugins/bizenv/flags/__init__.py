"""Accountability flags driven by the policy file."""
