"""Read a schema file and report every problem in it with file, key and reason."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bizenv.config import schemas_dir
from bizenv.errors import SchemaError
from bizenv.schemas.models import (
    ALL_UNITS,
    IndicatorCatalogue,
    Policy,
    PrivacyPatterns,
    Questionnaire,
    Registry,
    Themes,
    ValidationConfig,
)

M = TypeVar("M", bound=BaseModel)


def _load(path: Path, model: type[M]) -> M:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(str(path), ["file not found"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise SchemaError(str(path), [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    if not isinstance(data, dict):
        raise SchemaError(str(path), ["top level must be a mapping"])
    # Policy versions are strings even when written like numbers (2026.1).
    if model is Policy and "version" in data:
        data["version"] = str(data["version"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{key}: {err['msg'].removeprefix('Value error, ')}")
        raise SchemaError(str(path), problems) from None


@cache
def _cached(path: Path, model: type[M], _mtime_ns: int) -> M:
    return _load(path, model)


def _load_cached(path: Path, model: type[M]) -> M:
    """Parsed once per file version: an edited file is re-read, an unchanged one is not."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise SchemaError(str(path), ["file not found"]) from None
    return _cached(path.resolve(), model, mtime)


def load_registry(path: Path | None = None) -> Registry:
    return _load_cached(path or schemas_dir() / "units.yaml", Registry)


def load_questionnaire(name: str = "enterprise_satisfaction_v1", path: Path | None = None) -> Questionnaire:
    file = path or schemas_dir() / f"{name}.yaml"
    if path is None and not file.exists():
        available = sorted(
            p.stem for p in schemas_dir().glob("*.yaml") if p.stem not in {"units", "policy", "privacy"}
        )
        raise SchemaError(str(file), [f"no questionnaire named {name!r} (available: {', '.join(available)})"])
    questionnaire = _load_cached(file, Questionnaire)
    if path is None and questionnaire.name != name:
        raise SchemaError(str(file), [f"name: is {questionnaire.name!r}, file says {name!r}"])
    return questionnaire


def load_policy(path: Path | None = None) -> Policy:
    return _load_cached(path or schemas_dir() / "policy.yaml", Policy)


def load_indicators(path: Path | None = None) -> IndicatorCatalogue:
    """The indicator catalogue; every responsible unit must be in the registry, and
    `responsible: all` is every active unit of it."""
    file = path or schemas_dir() / "indicators.yaml"
    catalogue = _load_cached(file, IndicatorCatalogue)
    registry = load_registry()
    known = {u.code for u in registry.units}
    if any(i.responsible == [ALL_UNITS] for i in catalogue.indicators):
        active = [u.code for u in registry.units if u.active]
        catalogue = catalogue.model_copy(
            update={
                "indicators": [
                    i.model_copy(update={"responsible": active}) if i.responsible == [ALL_UNITS] else i
                    for i in catalogue.indicators
                ]
            }
        )
    problems = [
        f"indicators.{i}.responsible: unknown unit {code!r}"
        for i, indicator in enumerate(catalogue.indicators)
        for code in indicator.responsible
        if code not in known
    ]
    if problems:
        raise SchemaError(str(file), problems)
    return catalogue


def load_validation(path: Path | None = None) -> ValidationConfig:
    return _load_cached(path or schemas_dir() / "validation.yaml", ValidationConfig)


def load_privacy(path: Path | None = None) -> PrivacyPatterns:
    """The masking patterns of free text (`privacy.yaml`), in the order they apply."""
    return _load_cached(path or schemas_dir() / "privacy.yaml", PrivacyPatterns)


def load_themes(path: Path | None = None) -> Themes:
    """The themes comments are filed under (`themes.yaml`), shared by the unit pages and the
    problem register."""
    return _load_cached(path or schemas_dir() / "themes.yaml", Themes)
