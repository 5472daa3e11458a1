"""The demo data set, loaded and evaluated, reproduced by a plain-Python second computation."""

import csv
import statistics
from collections import defaultdict
from datetime import datetime

import pandas as pd
import pytest
from scipy import stats

from bizenv.cli import main
from bizenv.ingest.uscc import check_character
from bizenv.schemas import load_indicators, load_policy, load_questionnaire, load_registry

Q = load_questionnaire()
pytestmark = pytest.mark.slow


def independent_indices(path) -> tuple[dict[str, list[float]], int]:
    """Respondent scores per unit code, computed row by row from the raw CSV, and the number of
    enterprises in the period's design (every one with an accepted row, complete or not)."""
    registry = load_registry()
    names = {}
    for unit in registry.units:
        for name in [unit.name, unit.full_name, *unit.aliases]:
            names[name] = unit.code
            names[name.removeprefix("市")] = unit.code
    scale = Q.scale.labels
    latest: dict[tuple[str, str], tuple[datetime, list]] = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["respondent_id"]
            if check_character(code[:17]) != code[17]:
                continue
            unit = names.get(row["unit"])
            if unit is None:
                continue
            try:
                when = datetime.fromisoformat(row["submitted_at"])
            except ValueError:
                continue
            answers = [row[item.label] for item in Q.items()]
            if any(a not in scale and a not in Q.missing_labels and a != "" for a in answers):
                continue
            points = [scale.get(a) for a in answers]
            key = (code, unit)
            if key not in latest or when >= latest[key][0]:
                latest[key] = (when, points)
    per_unit = defaultdict(list)
    enterprises = {code for code, _ in latest}
    for (_, unit), (_, points) in latest.items():
        if sum(p is not None for p in points) < len(points) / 2:
            continue
        dims = []
        for i in range(0, len(points), 2):  # two items per dimension, equal weights
            answered = [(p - 1) / 4 * 100 for p in points[i : i + 2] if p is not None]
            if answered:
                dims.append(sum(answered) / len(answered))
        per_unit[unit].append(sum(dims) / len(dims))
    return per_unit, len(enterprises)


def linearised_se(scores: list[float], enterprises: int) -> float:
    """R's svymean SE of a domain mean, unweighted: √(N/(N−1) Σ((y − ȳ)/n)²), N the design's
    enterprises, n the domain's."""
    mean, n = statistics.fmean(scores), len(scores)
    return (enterprises / (enterprises - 1) * sum(((y - mean) / n) ** 2 for y in scores)) ** 0.5


def z_scores(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    mean, sd = statistics.fmean(values.values()), statistics.pstdev(values.values())
    return {k: (v - mean) / sd if sd > 0 else 0.0 for k, v in values.items()}


def independent_indicator_scores(path) -> dict[str, float]:
    """Unit indicator scores from the raw metrics CSV: frontier scores by the catalogue's formula
    (or the period's best value and 5th percentile from the worst end), weighted means."""
    catalogue = load_indicators().by_code()
    names = {u.name: u.code for u in load_registry().units}
    minimum = load_policy().min_units_for_observed_frontier
    with open(path, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["indicator"] in catalogue]
    values = defaultdict(list)
    for r in rows:
        values[r["indicator"]].append(float(r["value"]))
    # No catalogue frontier and too few reporting units to derive one: not scored.
    rows = [r for r in rows if catalogue[r["indicator"]].frontier or len(values[r["indicator"]]) >= minimum]
    totals = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        spec, x = catalogue[r["indicator"]], float(r["value"])
        lower = spec.direction == "lower"
        if spec.frontier:
            best, worst = spec.frontier.best, spec.frontier.worst
        else:
            seen = values[r["indicator"]]
            best = min(seen) if lower else max(seen)
            if len(seen) == 1:
                worst = best  # one value: nothing to compare, scored 100
            else:
                cuts = statistics.quantiles(seen, n=100, method="inclusive")
                worst = cuts[94] if lower else cuts[4]
        raw = 100.0 if best == worst else 100 * ((worst - x) if lower else (x - worst)) / abs(worst - best)
        score = min(max(raw, 0.0), 100.0)
        unit = names[r["unit"]]
        totals[unit][0] += spec.weight * score
        totals[unit][1] += spec.weight
    return {unit: s / w for unit, (s, w) in totals.items()}


@pytest.mark.parametrize("period", ["2026H1"])
def test_demo_rankings_are_reproduced_independently(engine, warehouse_url, tmp_path, period, capsys):
    assert main(["demo-data", "--out", str(tmp_path / "data"), "--respondents", "600", "--seed", "3"]) == 0
    survey = tmp_path / "data" / f"survey_{period}.csv"
    assert main(["load-survey", str(survey), "--period", period, "--db", warehouse_url]) == 0
    metrics = tmp_path / "data" / f"metrics_{period}.csv"
    assert main(["load-metrics", str(metrics), "--period", period, "--db", warehouse_url]) == 0
    assert main(["evaluate", "--period", period, "--out", str(tmp_path / "out"), "--db", warehouse_url]) == 0
    capsys.readouterr()

    rankings = pd.read_csv(tmp_path / "out" / "rankings.csv").set_index("unit_code")
    assert len(rankings) == 35
    expected, enterprises = independent_indices(survey)
    for unit, scores in expected.items():
        row = rankings.loc[unit]
        assert row["n_respondents"] == len(scores)
        if len(scores) < 5:  # published breakdowns of fewer than 5 respondents are suppressed
            assert pd.isna(row["satisfaction_index"]) and pd.isna(row["satisfaction_ci_low"])
            continue
        assert row["satisfaction_index"] == pytest.approx(statistics.fmean(scores), abs=0.005)
        if len(scores) > 1:
            low, high = stats.t.interval(
                0.95, len(scores) - 1, loc=statistics.fmean(scores), scale=linearised_se(scores, enterprises)
            )
            assert row["satisfaction_ci_low"] == pytest.approx(max(low, 0), abs=0.005)
            assert row["satisfaction_ci_high"] == pytest.approx(min(high, 100), abs=0.005)
        assert bool(row["ranked"]) == (len(scores) >= 30)
    indicators = independent_indicator_scores(metrics)
    for unit, row in rankings.iterrows():
        ind = indicators.get(unit)
        assert (pd.isna(row["indicator_score"]) and ind is None) or row["indicator_score"] == pytest.approx(
            ind, abs=0.005
        )
    # The composite: each part z-scored over the group's ranked units, 50 + 10 × weighted sum.
    weights = load_policy().composite_weights
    group_of = {u.code: u.group for u in load_registry().units}
    for group in set(group_of.values()):
        units = [u for u, g in group_of.items() if g == group]
        sat = {u: statistics.fmean(expected[u]) for u in units if len(expected.get(u, [])) >= 30}
        ind = {u: indicators[u] for u in units if u in indicators and (u in sat or not expected.get(u))}
        z_sat, z_ind = z_scores(sat), z_scores(ind)
        for unit in units:
            row = rankings.loc[unit]
            if unit in z_sat and unit in z_ind:
                z = weights.satisfaction * z_sat[unit] + weights.indicators * z_ind[unit]
            elif unit in z_sat or unit in z_ind:
                z = z_sat.get(unit, z_ind.get(unit))
            else:
                assert pd.isna(row["composite_score"]) and not row["ranked"]
                continue
            assert row["composite_score"] == pytest.approx(min(max(50 + 10 * z, 0), 100), abs=0.006)
    ranked = rankings[rankings["ranked"]]
    for _, group in ranked.groupby("group"):
        by_score = group["composite_score"].rank(method="min", ascending=False)
        assert (by_score == group["rank"]).all()


def test_demo_report_shows_effective_weights_rank_intervals_and_bottom_probabilities(
    engine, warehouse_url, tmp_path, capsys
):
    assert main(["demo-data", "--out", str(tmp_path / "data"), "--respondents", "1500", "--seed", "5"]) == 0
    for kind in ("survey", "metrics"):
        path = tmp_path / "data" / f"{kind}_2026H1.csv"
        assert main([f"load-{kind}", str(path), "--period", "2026H1", "--db", warehouse_url]) == 0
    out = tmp_path / "out"
    assert main(["evaluate", "--period", "2026H1", "--out", str(out), "--db", warehouse_url]) == 0
    capsys.readouterr()
    html = (out / "report.html").read_text(encoding="utf-8")
    sensitivity = pd.read_excel(out / "report.xlsx", sheet_name="排名稳健性 sensitivity")
    shares = pd.read_excel(out / "report.xlsx", sheet_name="综合权重 composite").set_index("group_code")
    flags = pd.read_csv(out / "flags.csv")

    government = shares.loc["government"]
    assert government["normalisation"] == "zscore" and government["n_units"] >= 10
    assert f"满意度 {government['share_satisfaction']:.0%}" in html
    assert (sensitivity["rank_ci_low"] <= sensitivity["rank"]).all()
    assert (sensitivity["rank"] <= sensitivity["rank_ci_high"]).all()
    in_government = sensitivity[sensitivity["group_code"] == "government"]
    assert in_government["p_bottom_n"].sum() == pytest.approx(5)
    bottom = flags[flags["flag"] == "BOTTOM_N"]
    assert len(bottom) >= 5
    p_bottom = sensitivity.set_index("unit_code")["p_bottom_n"]
    for row in bottom.itertuples():
        assert f"P(后5名) = {p_bottom[row.unit_code]:.2f}" in row.reason
        assert row.reason in html
