"""The rule files an evaluation reads, loaded once per run."""

from __future__ import annotations

from dataclasses import dataclass

from bizenv.schemas import load_indicators, load_policy, load_questionnaire, load_registry, load_validation
from bizenv.schemas.models import IndicatorCatalogue, Policy, Questionnaire, Registry, ValidationConfig


@dataclass(frozen=True)
class Rules:
    questionnaire: Questionnaire
    registry: Registry
    policy: Policy
    catalogue: IndicatorCatalogue
    checks: ValidationConfig

    @classmethod
    def load(cls, schema: str) -> Rules:
        return cls(
            load_questionnaire(schema), load_registry(), load_policy(), load_indicators(), load_validation()
        )
