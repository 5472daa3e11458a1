"""Typed, checked views of the YAML files in survey_schemas/ (the one source of truth for rules)."""

from bizenv.schemas.loader import (
    load_indicators,
    load_policy,
    load_questionnaire,
    load_registry,
    load_validation,
)
from bizenv.schemas.models import IndicatorCatalogue, Policy, Questionnaire, Registry, ValidationConfig

__all__ = [
    "IndicatorCatalogue",
    "Policy",
    "Questionnaire",
    "Registry",
    "ValidationConfig",
    "load_indicators",
    "load_policy",
    "load_questionnaire",
    "load_registry",
    "load_validation",
]
