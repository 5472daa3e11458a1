"""Pydantic models of the schema files; cross-field rules live in their validators."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- unit registry -------------------------------------------------------------------------


def normalise_unit_name(text: str) -> str:
    """The one form unit names are compared in: whatever their spacing (half- or full-width)
    and letter case."""
    return "".join(str(text).split()).casefold()


class Group(_Strict):
    name: str
    name_en: str


class Unit(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    full_name: str | None = None
    aliases: list[str] = []
    group: str
    parent: str | None = None
    level: Literal["department", "division", "station"] = "department"
    active: bool = True

    def names(self) -> set[str]:
        """Every way the unit is written: code, name, full name, aliases, each also without 市."""
        raw = {self.code, self.name, *self.aliases}
        if self.full_name:
            raw.add(self.full_name)
        names = {normalise_unit_name(n) for n in raw}
        return names | {n.removeprefix("市") for n in names if n.startswith("市") and len(n) > 2}


class Registry(_Strict):
    version: int
    city: str
    groups: dict[str, Group]
    levels: list[str]
    units: list[Unit]

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        problems = []
        codes = [u.code for u in self.units]
        dup_codes = sorted({c for c in codes if codes.count(c) > 1})
        if dup_codes:
            problems.append(f"duplicate unit codes {dup_codes}")
        seen: dict[str, str] = {}
        for unit in self.units:
            if unit.group not in self.groups:
                problems.append(f"unit {unit.code}: unknown group {unit.group!r}")
            if unit.parent is not None and unit.parent not in codes:
                problems.append(f"unit {unit.code}: unknown parent {unit.parent!r}")
            for name in unit.names():
                other = seen.setdefault(name, unit.code)
                if other != unit.code:
                    problems.append(f"name {name!r} is used by both {other} and {unit.code}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    def name_index(self) -> dict[str, str]:
        """Every code, name, full name and alias (as written and without the 市 prefix) → code."""
        index: dict[str, str] = {}
        for unit in self.units:
            for name in unit.names():
                index[name] = unit.code
        return index

    def resolve(self, text: str) -> str | None:
        return self.resolve_all([text]).get(text)

    def resolve_all(self, texts: Iterable[str]) -> dict[str, str]:
        """Unit code of each distinct text that names a unit; texts naming none are left out.
        Loaders map a column through it, normalising each distinct text once."""
        index = self.name_index()
        codes = {text: index.get(normalise_unit_name(text)) for text in set(texts)}
        return {text: code for text, code in codes.items() if code is not None}


# --- questionnaire -----------------------------------------------------------------------


NumberForm = Literal["integer", "decimal_zero"]

# What each number form of `scale.number_forms` accepts: the whole answer (spaces around it
# stripped) must match, and its digits before any decimal point are the scale point. `integer`
# is plain ASCII digits without a sign or a leading zero ("5", not "05", "+5" or "５");
# `decimal_zero` adds a decimal point and zeros ("5.0", "5.00"), not a bare "5." or "5.5".
NUMBER_FORMS: dict[str, str] = {"integer": r"[1-9][0-9]*", "decimal_zero": r"[1-9][0-9]*\.0+"}


class Scale(_Strict):
    points: int = Field(ge=2)
    labels: dict[str, int]
    # How an answer may be written as a number instead of a label; an empty list: labels only.
    number_forms: list[NumberForm]

    @model_validator(mode="after")
    def _labels_on_scale(self) -> Scale:
        bad = {k: v for k, v in self.labels.items() if not 1 <= v <= self.points}
        if bad:
            raise ValueError(f"labels outside 1..{self.points}: {bad}")
        return self

    def number_pattern(self) -> str | None:
        """One regular expression for every declared number form (None when answers are labels
        only), for `Series.str.fullmatch`."""
        forms = [NUMBER_FORMS[form] for form in dict.fromkeys(self.number_forms)]
        return "|".join(f"(?:{form})" for form in forms) or None


class Item(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str


class Dimension(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    label_en: str
    weight: float = Field(gt=0)
    items: list[Item] = Field(min_length=1)


class Attribute(_Strict):
    code: str
    column: str
    label: str
    values: list[str] | None = None


class RespondentKey(_Strict):
    column: str
    label: str
    format: Literal["uscc", "text"] = "text"


class Comment(_Strict):
    column: str
    label: str


class Respondent(_Strict):
    key: RespondentKey
    attributes: list[Attribute]
    comment: Comment


class CanonicalFormat(_Strict):
    unit_column: str = "unit"
    submitted_at_column: str = "submitted_at"
    duration_column: str = "duration_seconds"


class WenjuanxingFormat(_Strict):
    meta_columns: list[str]
    submitted_at_column: str
    duration_column: str
    respondent_key_question: str
    attribute_questions: dict[str, str]
    comment_question: str
    unit_grid_question: str

    @model_validator(mode="after")
    def _patterns_compile(self) -> WenjuanxingFormat:
        patterns = {
            "respondent_key_question": self.respondent_key_question,
            "comment_question": self.comment_question,
            "unit_grid_question": self.unit_grid_question,
            **{f"attribute_questions.{k}": v for k, v in self.attribute_questions.items()},
        }
        problems = []
        for key, pattern in patterns.items():
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                problems.append(f"{key}: not a valid regular expression ({exc})")
                continue
            if key == "unit_grid_question" and "unit" not in compiled.groupindex:
                problems.append(f"{key}: needs a named group (?P<unit>...) capturing the unit name")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Formats(_Strict):
    canonical: CanonicalFormat = CanonicalFormat()
    wenjuanxing: WenjuanxingFormat | None = None


class Questionnaire(_Strict):
    name: str
    version: int
    title: str
    scale: Scale
    missing_labels: list[str]
    min_answered_share: float = Field(gt=0, le=1)
    dimensions: list[Dimension] = Field(min_length=1)
    respondent: Respondent
    formats: Formats = Formats()

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        problems = []
        total = sum(d.weight for d in self.dimensions)
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            problems.append(f"dimension weights sum to {total:g}, not 1")
        for kind, values in (
            ("dimension code", [d.code for d in self.dimensions]),
            ("item code", [i.code for i in self.items()]),
            ("item label", [i.label for i in self.items()]),
        ):
            dups = sorted({v for v in values if values.count(v) > 1})
            if dups:
                problems.append(f"duplicate {kind}s {dups}")
        clash = set(self.missing_labels) & set(self.scale.labels)
        if clash:
            problems.append(f"labels both missing and on the scale: {sorted(clash)}")
        wjx = self.formats.wenjuanxing
        if wjx is not None:
            codes = {a.code for a in self.respondent.attributes}
            unknown = sorted(set(wjx.attribute_questions) - codes)
            if unknown:
                problems.append(f"formats.wenjuanxing.attribute_questions: unknown attributes {unknown}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def items(self) -> list[Item]:
        return [item for d in self.dimensions for item in d.items]

    def item_dimension(self) -> dict[str, str]:
        return {item.code: d.code for d in self.dimensions for item in d.items}

    def dimension_weights(self) -> dict[str, float]:
        return {d.code: d.weight for d in self.dimensions}

    def attribute_columns(self) -> list[str]:
        return [a.column for a in self.respondent.attributes]


# --- indicator catalogue ---------------------------------------------------------------


class Frontier(_Strict):
    best: float
    worst: float

    @model_validator(mode="after")
    def _distinct(self) -> Frontier:
        if self.best == self.worst:
            raise ValueError("best and worst must differ")
        return self


class Benchmarks(_Strict):
    advanced: float
    leading: float


class Bounds(_Strict):
    min: float
    max: float


ALL_UNITS = "all"
# What the problem register computes (bizenv.rectification.rates columns).
REGISTER_INDICATORS = ("rectification_rate",)


class Indicator(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    unit_of_measure: str
    direction: Literal["lower", "higher"]
    frontier: Frontier | None = None
    benchmarks: Benchmarks
    bounds: Bounds
    weight: float = Field(gt=0)
    # Unit codes, or `all`: every active unit of the registry (the loader expands it).
    responsible: list[str] = Field(min_length=1)
    # Where values come from: metric files (load-metrics), or the problem register, which the
    # evaluation reads itself (such an indicator is never loaded from a file).
    source: Literal["metrics", "problem_register"] = "metrics"

    @field_validator("responsible", mode="before")
    @classmethod
    def _all_units(cls, value: object) -> object:
        return [ALL_UNITS] if value == ALL_UNITS else value

    @model_validator(mode="after")
    def _computable(self) -> Indicator:
        if self.source == "problem_register" and self.code not in REGISTER_INDICATORS:
            raise ValueError(f"source problem_register computes only {', '.join(REGISTER_INDICATORS)}")
        return self

    @model_validator(mode="after")
    def _ordered(self) -> Indicator:
        """Leading must be better than advanced, and a frontier's best better than its worst."""
        better = (lambda a, b: a < b) if self.direction == "lower" else (lambda a, b: a > b)
        problems = []
        if not better(self.benchmarks.leading, self.benchmarks.advanced):
            problems.append(f"benchmarks: leading must be better than advanced ({self.direction} is better)")
        if self.frontier and not better(self.frontier.best, self.frontier.worst):
            problems.append(f"frontier: best must be better than worst ({self.direction} is better)")
        if self.bounds.min >= self.bounds.max:
            problems.append("bounds: min must be below max")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class IndicatorCatalogue(_Strict):
    version: int
    indicators: list[Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> IndicatorCatalogue:
        codes = [i.code for i in self.indicators]
        dups = sorted({c for c in codes if codes.count(c) > 1})
        if dups:
            raise ValueError(f"duplicate indicator codes {dups}")
        return self

    def by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}


# --- validation -----------------------------------------------------------------------------


class ExpectationRule(_Strict):
    critical: bool
    mostly: float = Field(gt=0, le=1)


class Speeder(_Strict):
    action: Literal["quarantine", "warn"]
    share_of_median: float = Field(gt=0, lt=1)


class ImplausibleDuration(_Strict):
    action: Literal["quarantine", "warn"]
    max_seconds: float = Field(gt=0)


class StraightLining(_Strict):
    action: Literal["quarantine", "warn"]
    min_items: int = Field(ge=2)


class TooManyUnits(_Strict):
    action: Literal["quarantine", "warn"]
    max_units: int = Field(ge=1)


class TopBoxBatch(_Strict):
    action: Literal["warn"]
    max_top_box_share: float = Field(gt=0, le=1)


class QualityRules(_Strict):
    speeder: Speeder
    implausible_duration: ImplausibleDuration
    straight_lining: StraightLining
    too_many_units: TooManyUnits
    top_box_batch: TopBoxBatch


SURVEY_EXPECTATIONS = {
    "respondent_key_present", "credit_code_shape", "unit_in_registry", "submitted_in_period",
    "answers_on_scale", "attributes_allowed", "duration_not_negative", "respondent_unit_unique",
}  # fmt: skip
METRICS_EXPECTATIONS = {"unit_in_registry", "indicator_known", "value_in_bounds", "unit_indicator_unique"}
PERIOD_EXPECTATIONS = {
    "respondent_unit_unique", "scores_on_scale", "unit_in_registry", "submitted_in_period", "attributes_allowed",
}  # fmt: skip


def _exactly(names: set[str], rules: dict[str, ExpectationRule], where: str) -> None:
    missing, unknown = sorted(names - set(rules)), sorted(set(rules) - names)
    if missing or unknown:
        raise ValueError(f"{where}: missing {missing}, unknown {unknown}")


class SurveyValidation(_Strict):
    expectations: dict[str, ExpectationRule]
    quality_rules: QualityRules

    @model_validator(mode="after")
    def _known(self) -> SurveyValidation:
        _exactly(SURVEY_EXPECTATIONS, self.expectations, "expectations")
        return self


class MetricsValidation(_Strict):
    expectations: dict[str, ExpectationRule]

    @model_validator(mode="after")
    def _known(self) -> MetricsValidation:
        _exactly(METRICS_EXPECTATIONS, self.expectations, "expectations")
        return self


class PeriodValidation(_Strict):
    expectations: dict[str, ExpectationRule]

    @model_validator(mode="after")
    def _known(self) -> PeriodValidation:
        _exactly(PERIOD_EXPECTATIONS, self.expectations, "expectations")
        return self


class Reliability(_Strict):
    alpha_warning_below: float = Field(gt=0, lt=1)
    confidence_level: float = Field(gt=0.5, lt=1)
    missing: Literal["listwise", "pairwise"] = "listwise"


class ValidationConfig(_Strict):
    version: int
    survey: SurveyValidation
    metrics: MetricsValidation
    period: PeriodValidation
    reliability: Reliability


# --- policy --------------------------------------------------------------------------------

Normalisation = Literal["zscore", "minmax", "none"]
SinglePart = Literal["rank_on_available", "not_ranked"]


class CompositeWeights(_Strict):
    satisfaction: float = Field(ge=0)
    indicators: float = Field(ge=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> CompositeWeights:
        if not math.isclose(self.satisfaction + self.indicators, 1.0, abs_tol=1e-9):
            raise ValueError("composite weights must sum to 1")
        return self


class Composite(_Strict):
    """How the two parts are put on one scale before weighting, and what a one-part unit gets."""

    normalisation: Normalisation = "zscore"
    single_part: SinglePart = "rank_on_available"


def _default_normalisations() -> list[Normalisation]:
    return ["zscore", "minmax"]


class RankIntervals(_Strict):
    """Monte Carlo uncertainty and sensitivity analysis of the ranks (OECD/JRC 2008)."""

    draws: int = Field(ge=100)
    seed: int
    level: float = Field(default=0.9, gt=0.5, lt=1)
    satisfaction_weight_range: tuple[float, float] = (0.5, 0.7)
    normalisations: list[Normalisation] = Field(default_factory=_default_normalisations, min_length=1)
    bootstrap_indicators: bool = True

    @model_validator(mode="after")
    def _range_in_order(self) -> RankIntervals:
        low, high = self.satisfaction_weight_range
        if not 0 <= low <= high <= 1:
            raise ValueError("satisfaction_weight_range must be [low, high] with 0 <= low <= high <= 1")
        return self


class Raking(_Strict):
    """Bounds on raked weights as multiples of the mean weight (trimmed, then raked again)."""

    weight_bounds: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _bounds_around_one(self) -> Raking:
        if self.weight_bounds is not None:
            low, high = self.weight_bounds
            if not 0 <= low < 1 < high:
                raise ValueError("weight_bounds must be [low, high] with 0 <= low < 1 < high")
        return self


class FlagRules(_Strict):
    bottom_n: int = Field(ge=1)
    top_n: int = Field(ge=1)
    min_group_size: int = Field(ge=1)
    consecutive_periods: int = Field(ge=2)
    funnel_limit: float = Field(gt=0.5, lt=1)
    funnel_warning: float = Field(gt=0.5, lt=1)
    funnel_winsor: float = Field(ge=0, lt=0.5)
    funnel_overdispersion: Literal["additive", "multiplicative"] = "additive"
    change_fdr_q: float = Field(gt=0, lt=0.5)
    most_improved_n: int = Field(ge=0)
    min_bottom_probability: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _top_and_bottom_apart(self) -> FlagRules:
        if self.min_group_size < self.top_n + self.bottom_n:
            raise ValueError("min_group_size must be at least top_n + bottom_n, or a unit could be in both")
        return self


class IndicatorTargets(_Strict):
    """Shares of the city's indicators that should reach each national level (e.g. 70% / 30%)."""

    advanced_or_better: float = Field(ge=0, le=1)
    leading: float = Field(ge=0, le=1)


class Gates(_Strict):
    max_quarantined_share: float = Field(ge=0, le=1)


class Fieldwork(_Strict):
    """What the fieldwork monitor measures each unit's progress against while a period is open."""

    target_respondents: int = Field(ge=1)
    quiet_days: int = Field(ge=1)


class LateData(_Strict):
    """What a batch accepted for an already evaluated period triggers: the period evaluated
    again (its published outputs replaced), or only an alert asking someone to do it."""

    action: Literal["re_evaluate", "alert"]


class Supervision(_Strict):
    """Days between the steps of supervising an overdue problem (一次督办, 二次督办, 问责)."""

    first_after_deadline_days: int = Field(ge=1)
    second_after_first_days: int = Field(ge=1)
    accountability_after_second_days: int = Field(ge=1)


ProblemStatus = Literal["open", "assigned", "in_progress", "resolved", "verified", "reopened"]
PROBLEM_STATUSES: tuple[ProblemStatus, ...] = (
    "open",
    "assigned",
    "in_progress",
    "resolved",
    "verified",
    "reopened",
)


ProblemSource = Literal["comment", "low_score", "flag"]
# The flags that may be problems in themselves: the accountability ones about a unit's service
# (recognition flags never are; INSUFFICIENT_SAMPLE is about fieldwork, and RECTIFICATION_OVERDUE
# is about problems already in the register).
DerivableFlag = Literal["REPEATED_BOTTOM_N", "BOTTOM_N", "SIGNIFICANTLY_LOW", "SIGNIFICANT_DECLINE"]


class ProblemDerivation(_Strict):
    """What `bizenv problems derive` proposes from an evaluated period (bizenv.rectification.
    derive): the thresholds and lists of each source, the kind of its problems, and the
    co-handling units by theme. Theme, item and unit codes are checked against their files
    when problems are derived (this model sees the policy file only)."""

    min_comments: int = Field(ge=1)
    max_quotes: int = Field(ge=0)
    praise_themes: list[str]
    low_score_below: float = Field(gt=0, le=100)
    low_score_min_respondents: Literal["ranking", "suppression"]
    flags: list[DerivableFlag]
    kinds: dict[ProblemSource, str]
    co_units: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> ProblemDerivation:
        problems = []
        missing = [s for s in ("comment", "low_score", "flag") if s not in self.kinds]
        if missing:
            problems.append(f"kinds: missing {', '.join(missing)}")
        if "other" in self.praise_themes:
            problems.append("praise_themes: other is never a problem already; it is no praise theme")
        empty = sorted(k for k, v in self.co_units.items() if not v)
        if empty:
            problems.append(f"co_units: {', '.join(empty)} name no unit")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Rectification(_Strict):
    """The problem register's rules: deadlines by kind, supervision steps and the status
    transitions allowed (bizenv.rectification reads them from here only)."""

    deadline_days: dict[str, int] = Field(min_length=1)
    default_kind: str
    supervision: Supervision
    transitions: dict[ProblemStatus, list[ProblemStatus]]
    unit_claims: list[ProblemStatus] = Field(min_length=1)
    settled: list[ProblemStatus]
    status_labels: dict[ProblemStatus, str]
    derive: ProblemDerivation
    # An open problem whose deadline is this many days away or fewer is "due soon" in the weekly
    # follow-up report and the units' digests.
    due_soon_days: int = Field(default=7, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Rectification:
        problems = []
        bad_days = sorted(k for k, v in self.deadline_days.items() if v < 1)
        if bad_days:
            problems.append(f"deadline_days: must be at least 1 day ({', '.join(bad_days)})")
        if self.default_kind not in self.deadline_days:
            problems.append(f"default_kind: {self.default_kind!r} has no deadline_days")
        kindless = sorted(f"{s}: {k}" for s, k in self.derive.kinds.items() if k not in self.deadline_days)
        if kindless:
            problems.append(f"derive.kinds: no deadline_days for {', '.join(kindless)}")
        for key, mapping in (("transitions", self.transitions), ("status_labels", self.status_labels)):
            missing = [s for s in PROBLEM_STATUSES if s not in mapping]
            if missing:
                problems.append(f"{key}: missing {', '.join(missing)}")
        if "open" in {s for targets in self.transitions.values() for s in targets}:
            problems.append("transitions: no status may move back to open (reopened is the status for that)")
        labels = list(self.status_labels.values())
        if len(set(labels)) < len(labels):
            problems.append("status_labels: labels must be distinct")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def allowed(self, old: str, new: str) -> bool:
        return any(status == old and new in targets for status, targets in self.transitions.items())

    def closed(self) -> list[str]:
        """Final statuses: no transition leads out of them."""
        return [s for s in PROBLEM_STATUSES if not self.transitions.get(s)]


class Bulletin(_Strict):
    """The half-year 通报's letterhead: who issues it, its title and its document number. The
    wording of its body is the template file in survey_schemas/, which the office edits."""

    issuing_office: str = Field(min_length=1)
    # `{period}` is replaced by the period as written in Chinese (2026年上半年).
    title: str = Field(min_length=1)
    # The number line reads prefix〔year〕serial号; the serial is left for the registry to fill.
    number_prefix: str = Field(min_length=1)
    template: str = Field(default="bulletin.md.j2", pattern=r"^[^/\\]+$")


class Policy(_Strict):
    version: str
    min_respondents: int = Field(ge=2)
    confidence_level: float = Field(gt=0.5, lt=1)
    composite_weights: CompositeWeights
    composite: Composite = Composite()
    rank_intervals: RankIntervals
    raking: Raking = Raking()
    min_units_for_observed_frontier: int = Field(default=5, ge=2)
    flags: FlagRules
    suppression_min: int = Field(ge=1)
    fieldwork_grace_days: int = Field(ge=0)
    fieldwork: Fieldwork
    late_data: LateData
    gates: Gates
    indicator_targets: IndicatorTargets
    rectification: Rectification
    bulletin: Bulletin


# --- privacy -----------------------------------------------------------------------------------


class PrivacyPattern(_Strict):
    """Text matching `regex` is replaced by `replacement` (which may name the regex's groups)."""

    name: str
    regex: str
    replacement: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        try:
            re.compile(regex)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return regex

    @model_validator(mode="after")
    def _groups_exist(self) -> PrivacyPattern:
        """Group references of the replacement (\\1, \\g<name>) must exist in the regex."""
        compiled = re.compile(self.regex)
        for match in re.finditer(r"\\(\d+)|\\g<(\w+)>", self.replacement):
            number, name = match.group(1), match.group(2)
            if (number and int(number) > compiled.groups) or (
                name and not name.isdigit() and name not in compiled.groupindex
            ):
                raise ValueError(
                    f"replacement of {self.name!r} names group {number or name}, which the regex does not have"
                )
        return self

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


class PrivacyPatterns(_Strict):
    patterns: list[PrivacyPattern] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PrivacyPatterns:
        names = [p.name for p in self.patterns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"pattern names repeated: {', '.join(repeated)}")
        return self


# --- comment themes ------------------------------------------------------------------------


class ThemeLabel(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    label_en: str = Field(min_length=1)


class Theme(ThemeLabel):
    keywords: list[str] = []
    patterns: list[str] = []

    @field_validator("keywords")
    @classmethod
    def _no_blank_keywords(cls, keywords: list[str]) -> list[str]:
        if any(not k.strip() for k in keywords):
            raise ValueError("a blank keyword would match every comment")
        return keywords

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
            if compiled.fullmatch(""):
                raise ValueError(f"{pattern!r} matches empty text, so every comment")
        return patterns

    @model_validator(mode="after")
    def _matches_something(self) -> Theme:
        if not self.keywords and not self.patterns:
            raise ValueError(f"theme {self.code!r} needs keywords or patterns")
        return self

    def regex(self) -> str:
        """One regular expression for `Series.str.contains`: any keyword (literally) or pattern."""
        return "|".join([*(re.escape(k) for k in self.keywords), *(f"(?:{p})" for p in self.patterns)])


class Themes(_Strict):
    version: int
    other: ThemeLabel
    themes: list[Theme] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Themes:
        codes = [t.code for t in self.themes] + [self.other.code]
        labels = [t.label for t in self.themes] + [self.other.label]
        problems = [
            f"{kind} repeated: {', '.join(sorted({v for v in values if values.count(v) > 1}))}"
            for kind, values in (("theme codes", codes), ("theme labels", labels))
            if len(set(values)) < len(values)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def labels(self) -> dict[str, str]:
        """Theme code → label, in the file's order, `other` last."""
        return {t.code: t.label for t in [*self.themes, self.other]}
