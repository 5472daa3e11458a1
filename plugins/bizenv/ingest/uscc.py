"""The credit code lives in `bizenv.uscc` (validation needs it too); names kept here for importers."""

from bizenv.uscc import ALPHABET, WEIGHTS, check_character, valid_uscc

__all__ = ["ALPHABET", "WEIGHTS", "check_character", "valid_uscc"]
