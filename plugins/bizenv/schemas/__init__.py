"""Typed, checked views of the YAML files in survey_schemas/ (the one source of truth for rules)."""

from bizenv.schemas.loader import load_policy, load_questionnaire, load_registry
from bizenv.schemas.models import Policy, Questionnaire, Registry

__all__ = ["Policy", "Questionnaire", "Registry", "load_policy", "load_questionnaire", "load_registry"]
