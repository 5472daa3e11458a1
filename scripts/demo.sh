#!/usr/bin/env bash
# The demo: realistic data for two half-years, loaded as an evaluator would, the first period
# evaluated from the CLI and the second through the real Airflow DAG, on SQLite under var/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
DEMO=$ROOT/var/demo

export BIZENV_DATABASE_URL="sqlite:///$DEMO/bizenv.sqlite"
export BIZENV_OUTPUT_DIR="$DEMO/output"
# One salt for every process of the demo (CLI and Airflow tasks alike), random per demo run.
export BIZENV_SALT="${BIZENV_SALT:-demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
# shellcheck source=scripts/airflow-env.sh
source "$ROOT/scripts/airflow-env.sh"
export AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING

start=$(date +%s)
rm -rf "$DEMO" && mkdir -p "$DEMO"
echo "== demo data (35 units of Ezhou, 3000 enterprises, 2025H2 and 2026H1)"
"$BIN/bizenv" demo-data --out "$DEMO/data" | tail -1
"$BIN/bizenv" init-db | tail -1
echo "== load-survey and load-metrics 2025H2, 2026H1 metrics (CLI)"
"$BIN/bizenv" load-survey "$DEMO/data/survey_2025H2.csv" --period 2025H2 | tail -1
"$BIN/bizenv" load-metrics "$DEMO/data/metrics_2025H2.csv" --period 2025H2 | tail -1
"$BIN/bizenv" load-metrics "$DEMO/data/metrics_2026H1.csv" --period 2026H1 | tail -1
echo "== evaluate 2025H2 (CLI, weights raked to the city's enterprises by size and district)"
"$BIN/bizenv" evaluate --period 2025H2 --margins "$DEMO/data/margins_2025H2.csv" --out "$DEMO/output/2025H2" | tail -1

echo "== problems (整改台账) of 2025H2: derived, sent to the units, returned, supervised (dated as they happened)"
"$BIN/bizenv" problems derive --period 2025H2 --today 2026-01-20 | grep -v '^{'
"$BIN/bizenv" problems export --period 2025H2 --out "$DEMO/problems/sent" --today 2026-01-21 | tail -1 \
  | "$BIN/python" -c 'import json,sys; s=json.load(sys.stdin); print("  ", len(s["workbooks"]), "unit workbooks in", s["out"])'
# Each unit fills in its workbook; the first one returned has three wrong rows.
"$BIN/python" -c "
from pathlib import Path
from bizenv.demo import returned_workbook
for i, p in enumerate(sorted(Path('$DEMO/problems/sent').glob('*.xlsx'))):
    returned_workbook(p, Path('$DEMO/problems/returned') / p.name, seed=i, faulty=i == 0)
"
"$BIN/bizenv" problems import "$DEMO"/problems/returned/*.xlsx --today 2026-03-31 | grep -v '^{' | sed "s|$DEMO/problems/returned/||"
"$BIN/bizenv" problems escalate --today 2026-03-31 | tail -1
"$BIN/bizenv" problems escalate --today 2026-04-15 | tail -1
"$BIN/bizenv" problems list --period 2025H2 --today 2026-06-30 | tail -2 | head -1

echo "== Airflow metadata database ($AIRFLOW_HOME)"
"$BIN/airflow" db migrate >"$DEMO/airflow-db-migrate.log" 2>&1 \
  || { tail -20 "$DEMO/airflow-db-migrate.log"; exit 1; }

echo "== 2026H1 batches dropped in the inbox; airflow dags test survey_ingest"
export BIZENV_LANDING_DIR="$DEMO/landing"
mkdir -p "$BIZENV_LANDING_DIR/inbox/2026H1"
cp "$DEMO/data/survey_2026H1.csv" "$DEMO/data/survey_2026H1_wenjuanxing.csv" "$BIZENV_LANDING_DIR/inbox/2026H1/"
"$BIN/airflow" dags test survey_ingest 2026-07-01 -c '{"min_file_age_seconds": 0}' >"$DEMO/airflow-ingest.log" 2>&1 \
  || { tail -40 "$DEMO/airflow-ingest.log"; exit 1; }
"$BIN/bizenv" status | grep "^2026H1"
echo "   archived: $(ls "$BIZENV_LANDING_DIR/archive/2026H1" | tr '\n' ' ')"
echo "== airflow dags test semiannual_evaluation 2026-01-01 (evaluates 2026H1)"
"$BIN/airflow" dags test semiannual_evaluation 2026-01-01 -c "{\"margins\": \"$DEMO/data/margins_2026H1.csv\"}" \
  >"$DEMO/airflow-dags-test.log" 2>&1 \
  || { tail -40 "$DEMO/airflow-dags-test.log"; exit 1; }

echo "== airflow dags test rectification_followup 2026-04-20 (the weekly supervision run: report and digests)"
"$BIN/airflow" dags test rectification_followup 2026-04-20 >"$DEMO/airflow-rectification.log" 2>&1 \
  || { tail -40 "$DEMO/airflow-rectification.log"; exit 1; }
echo "   $(ls "$DEMO/output/rectification" | tr '\n' ' ')in $DEMO/output/rectification/"

echo
"$BIN/python" -c "from bizenv.report.console import ranking_digest as d; print(d('$DEMO/output/2026H1/rankings.csv'))"
echo
echo "outputs: $DEMO/output/2026H1/ (rankings.csv, flags.csv, report.html, report.pdf when Chromium is installed, report.xlsx, units/, public/, bulletin.docx, quarantine.csv, data_docs/)"
echo "Airflow logs: $DEMO/airflow-*.log"
echo "demo finished in $(( $(date +%s) - start )) s"
