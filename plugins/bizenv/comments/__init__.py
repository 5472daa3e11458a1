"""Enterprises' free-text comments: what they are about (themes), for the unit pages and the
problem register."""
