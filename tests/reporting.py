"""A realistic evaluated period for the document tests: the demo's data for two half-years
(fewer enterprises than `make demo`), loaded and evaluated through the CLI's own functions on
SQLite, with the `PeriodReport` the second evaluation published its documents from. The second
evaluation prints report.pdf when Chromium is there (the suite otherwise turns printing off)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bizenv.demo import write_demo_data
from bizenv.evaluate import evaluate_period
from bizenv.evaluation import publish
from bizenv.ingest.metrics_batch import load_metrics
from bizenv.ingest.survey_batch import load_survey
from bizenv.report.publication import PeriodReport
from bizenv.warehouse.engine import make_engine, migrate

PERIODS = ("2025H2", "2026H1")


@dataclass(frozen=True)
class EvaluatedDemo:
    url: str
    data: Path  # the demo's input files
    outputs: dict[str, Path]  # each period's published folder
    report: PeriodReport  # what the last period's documents were written from


def evaluate_demo(root: Path, respondents: int = 1200) -> EvaluatedDemo:
    data = write_demo_data(root / "data", respondents=respondents)
    url = f"sqlite:///{root / 'bizenv.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    captured: list[PeriodReport] = []
    original = publish.period_report

    def capture(*args, **kwargs) -> PeriodReport:
        captured.append(original(*args, **kwargs))
        return captured[-1]

    publish.period_report = capture
    chromium = os.environ.get("BIZENV_CHROMIUM")
    try:
        outputs = {}
        for label in PERIODS:
            files = data["periods"][label]
            load_survey(engine, files["survey"], label)
            load_metrics(engine, files["metrics"], label)
            outputs[label] = root / "output" / label
            if label == PERIODS[-1] and chromium == "off":
                del os.environ["BIZENV_CHROMIUM"]
            evaluate_period(engine, label, outputs[label], margins=files["margins"])
    finally:
        if chromium is not None:
            os.environ["BIZENV_CHROMIUM"] = chromium
        publish.period_report = original
        engine.dispose()
    return EvaluatedDemo(url=url, data=root / "data", outputs=outputs, report=captured[-1])
