"""The `bizenv` command for evaluators, ops and staff.

`load-*` and `evaluate` print one JSON object as the last line of stdout. Exit codes:
0 done; 1 data refused by a validation gate (rows kept in quarantine); 2 unusable input or usage;
3 an internal error (a bug: please report it with the BIZENV_DEBUG=1 traceback). Files that
cannot be read or written and a warehouse that cannot be used are unusable input (2), not bugs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bizenv.errors import BizenvError

if TYPE_CHECKING:
    from datetime import date, datetime

    from sqlalchemy import Engine

# Commands whose last line of stdout is a JSON object, also when they fail.
JSON_COMMANDS = {"load-survey", "load-metrics", "evaluate", "fieldwork", "problems"}


def _engine(args: argparse.Namespace) -> Engine:
    from bizenv.warehouse.engine import make_engine

    return make_engine(args.db)


def cmd_init_db(args: argparse.Namespace) -> int:
    from bizenv.schemas import load_registry
    from bizenv.warehouse.engine import current_revision, migrate
    from bizenv.warehouse.writes import sync_units

    engine = _engine(args)
    migrate(engine)
    registry = load_registry()
    with engine.begin() as conn:
        sync_units(conn, registry)
    url = engine.url.render_as_string(hide_password=True)
    _emit(
        {"database": url, "revision": current_revision(engine), "units": len(registry.units), "status": "ok"}
    )
    return 0


def cmd_load_survey(args: argparse.Namespace) -> int:
    from bizenv.ingest.survey_batch import load_survey

    summary = load_survey(_engine(args), args.path, args.period, args.schema)
    _emit(summary)
    return 1 if summary["status"] == "refused" else 0


def cmd_load_metrics(args: argparse.Namespace) -> int:
    from bizenv.ingest.metrics_batch import load_metrics

    summary = load_metrics(_engine(args), args.path, args.period)
    _emit(summary)
    return 1 if summary["status"] == "refused" else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from bizenv.evaluate import evaluate_period

    _emit(evaluate_period(_engine(args), args.period, args.out, margins=args.margins))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from bizenv.status import warehouse_status

    status = warehouse_status(_engine(args), args.out)
    for line in status.pop("lines"):
        print(line)
    _emit(status)
    return 1 if args.check and not status["healthy"] else 0


def cmd_fieldwork(args: argparse.Namespace) -> int:
    import re
    from datetime import date, datetime

    from bizenv.airflow_support.runtime import output_dir
    from bizenv.fieldwork import CITY_TIMEZONE, fieldwork_progress, write_fieldwork
    from bizenv.periods import Period
    from bizenv.schemas import load_policy, load_registry

    period = Period.parse(args.period)
    if args.as_of is None:
        as_of = datetime.now(CITY_TIMEZONE).date()
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.as_of):
                raise ValueError
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            raise BizenvError(f"--as-of {args.as_of!r} is not a date like 2026-04-23") from None
    registry = load_registry()
    progress = fieldwork_progress(_engine(args), period, as_of, load_policy(), registry)
    out = args.out if args.out is not None else output_dir(period)
    _emit(progress.summary(write_fieldwork(progress, out, city=registry.city)))
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from bizenv.demo import write_demo_data

    if args.respondents < 1:
        raise BizenvError("--respondents must be at least 1")
    _emit(write_demo_data(Path(args.out), respondents=args.respondents, seed=args.seed))
    return 0


def _actor() -> str:
    """Who a register change is recorded as: $BIZENV_ACTOR, else the operating-system user."""
    import getpass

    return os.environ.get("BIZENV_ACTOR") or getpass.getuser()


def _city_today(text: str | None, option: str) -> date:
    import re
    from datetime import date, datetime

    from bizenv.fieldwork import CITY_TIMEZONE

    if text is None:
        return datetime.now(CITY_TIMEZONE).date()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise BizenvError(f"{option} {text!r} is not a date like 2026-04-23") from None


def _register_now(args: argparse.Namespace) -> datetime | None:
    """--today as the moment a register change is recorded (09:00 that day in the city), for
    changes made earlier on paper and for replays; None (now) without it."""
    from datetime import datetime, time

    from bizenv.fieldwork import CITY_TIMEZONE

    if getattr(args, "today", None) is None:
        return None
    return datetime.combine(_city_today(args.today, "--today"), time(9, 0), CITY_TIMEZONE)


def _register_engine(args: argparse.Namespace) -> Engine:
    from bizenv.warehouse.engine import require_migrated

    engine = _engine(args)
    require_migrated(engine)
    return engine


def cmd_problems_export(args: argparse.Namespace) -> int:
    from bizenv.rectification.workbook import export_workbooks

    with _register_engine(args).begin() as conn:
        summary = export_workbooks(
            conn, args.period, args.out, unit=args.unit, actor=_actor(), now=_register_now(args)
        )
    for book in summary["workbooks"]:
        print(f"{book['file']}: {book['problems']} problem(s), {book['assigned']} newly assigned")
    _emit(summary)
    return 0


def cmd_problems_import(args: argparse.Namespace) -> int:
    from bizenv.rectification.workbook import import_workbook, quarantined_lines

    engine, now = _engine(args), _register_now(args)
    summaries = []
    for path in args.paths:  # one process for a whole folder of returned workbooks
        summary = import_workbook(engine, path, _actor(), now=now)
        for line in quarantined_lines(summary):
            print(line)
        summary.pop("rows", None)
        summaries.append(summary)
    if len(summaries) == 1:
        _emit(summaries[0])
    else:
        totals = {k: sum(s[k] for s in summaries) for k in ("rows_in", "accepted", "quarantined", "changed")}
        print(f"{len(summaries)} workbooks: " + ", ".join(f"{v} {k}" for k, v in totals.items()))
        _emit({"workbooks": summaries, **totals, "status": "ok"})
    return 0


def cmd_problems_verify(args: argparse.Namespace) -> int:
    from bizenv.rectification import transition

    status = "reopened" if args.reopen else "verified"
    with _register_engine(args).begin() as conn:
        changes = transition(
            conn,
            args.problem_id,
            status,
            _actor(),
            "bizenv problems verify",
            _register_now(args),
            note=args.note,
        )
    fields = {c.field: c.new for c in changes}
    _emit(
        {
            "problem_id": args.problem_id,
            "from": next(c.old for c in changes if c.field == "status"),
            "to": status,
            "deadline": fields.get("deadline"),
            "status": "ok",
        }
    )
    return 0


def cmd_problems_escalate(args: argparse.Namespace) -> int:
    from bizenv.rectification.escalation import escalate

    today = _city_today(args.today, "--today")
    with _register_engine(args).begin() as conn:
        moves = escalate(conn, today, actor=_actor())
    for move in moves.to_dict("records"):
        print(
            f"{move['problem_id']} {move['unit_code']}: {move['supervision_from']} → {move['supervision_to']} "
            f"({move['days_overdue']} days past the deadline {move['deadline']})"
        )
    steps = moves["supervision_to"].value_counts().to_dict()
    _emit({"today": today, "moved": len(moves), "steps": steps, "status": "ok"})
    return 0


def cmd_problems_derive(args: argparse.Namespace) -> int:
    from bizenv.rectification.derive import derive_problems

    derived = derive_problems(
        _register_engine(args),
        args.period,
        _actor(),
        "bizenv problems derive",
        dry_run=args.dry_run,
        now=_register_now(args),
    )
    for line in derived.lines():
        print(line)
    _emit(derived.summary())
    return 0


def cmd_problems_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from bizenv.periods import Period
    from bizenv.rectification.rates import COUNTS, RATES, city_total, unit_rates
    from bizenv.rectification.register import CITY_TIMEZONE, read_problems
    from bizenv.schemas import load_policy, load_registry
    from bizenv.schemas.models import PROBLEM_STATUSES

    if args.status is not None and args.status not in PROBLEM_STATUSES:
        raise BizenvError(f"--status {args.status!r} is none of {', '.join(PROBLEM_STATUSES)}")
    unit = None
    if args.unit is not None:
        unit = load_registry().resolve(args.unit)
        if unit is None:
            raise BizenvError(f"--unit {args.unit!r} is not a unit of the registry")
    with _register_engine(args).connect() as conn:
        problems = read_problems(conn)
    if unit is not None:
        problems = problems[problems["unit_code"] == unit]
    if args.status is not None:
        problems = problems[problems["status"] == args.status]
    if args.period is not None:
        problems = problems[problems["period"] == Period.parse(args.period).label]
    for row in problems.to_dict("records"):
        print(
            "\t".join(
                str(row[c])
                for c in (
                    "problem_id",
                    "unit_code",
                    "status",
                    "supervision",
                    "deadline",
                    "recurrence_count",
                    "theme",
                )
            )
        )
    today = _city_today(args.today, "--today")
    # As of a past day: only the problems registered by then.
    registered = pd.to_datetime(problems["created_at"], utc=True).dt.tz_convert(CITY_TIMEZONE).dt.date
    problems = problems[(registered <= today).to_numpy()]
    total = city_total(unit_rates(problems, today, load_policy()))
    counts = {k: int(total[k]) for k in COUNTS}
    rates = {k: None if pd.isna(total[k]) else round(float(total[k]), 4) for k in RATES}
    print(
        f"{counts['raised']} problems, {counts['solved']} solved ({counts['solved_on_time']} on time, "
        f"{counts['solved_late']} late), {counts['open']} open of which {counts['overdue']} overdue, "
        f"as of {today}"
    )
    _emit(
        {
            "problems": len(problems),
            "by_status": problems["status"].value_counts().sort_index().to_dict(),
            "by_supervision": problems["supervision"].value_counts().sort_index().to_dict(),
            "as_of": today.isoformat(),
            **counts,
            **rates,
            "status": "ok",
        }
    )
    return 0


def _emit(summary: Mapping[str, object]) -> None:
    print(json.dumps(summary, ensure_ascii=False, default=str))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bizenv",
        description="Enterprises evaluate the government: load survey batches, score, rank and flag units.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        help="warehouse URL (default: $BIZENV_DATABASE_URL, else sqlite:///var/bizenv.sqlite)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init-db", parents=[common], help="create or migrate the warehouse")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("load-survey", parents=[common], help="load a survey batch (CSV or XLSX)")
    p.add_argument("path", type=Path)
    p.add_argument("--period", required=True, help="half-year, e.g. 2026H1")
    p.add_argument("--schema", default="enterprise_satisfaction_v1", help="questionnaire in survey_schemas/")
    p.set_defaults(func=cmd_load_survey)

    p = sub.add_parser("load-metrics", parents=[common], help="load department metrics (CSV or XLSX)")
    p.add_argument("path", type=Path)
    p.add_argument("--period", required=True, help="half-year, e.g. 2026H1")
    p.set_defaults(func=cmd_load_metrics)

    p = sub.add_parser("evaluate", parents=[common], help="score, rank and flag a period")
    p.add_argument("--period", required=True, help="half-year, e.g. 2026H1")
    p.add_argument(
        "--out",
        type=Path,
        help="write rankings.csv, flags.csv, quarantine.csv, report.html, report.xlsx and data_docs/ here",
    )
    p.add_argument(
        "--margins",
        type=Path,
        help="population margins (attribute, category, population) to rake respondent weights to "
        "(default: survey_schemas/margins/<period>.csv if present, else equal weights)",
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "status", parents=[common], help="periods, batches, recent runs and what needs attention"
    )
    p.add_argument(
        "--out",
        type=Path,
        action="append",
        default=[],
        help="also check this output folder against the warehouse (repeatable)",
    )
    p.add_argument(
        "--check", action="store_true", help="exit 1 when something needs attention (a health probe)"
    )
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "fieldwork",
        parents=[common],
        help="each unit's survey sample so far, projected to the fieldwork close",
    )
    p.add_argument("--period", required=True, help="half-year, e.g. 2026H1")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day to report on (default: today in the city)")
    p.add_argument(
        "--out",
        type=Path,
        help="the period's output folder; writes fieldwork/fieldwork.csv and fieldwork/fieldwork.html "
        "(default: $BIZENV_OUTPUT_DIR/<period>, else var/output/<period>)",
    )
    p.set_defaults(func=cmd_fieldwork)

    p = sub.add_parser(
        "problems", help="the problem register (整改台账): unit workbooks, verification, supervision"
    )
    problems = p.add_subparsers(dest="problems_command", required=True, metavar="SUBCOMMAND")
    q = problems.add_parser(
        "derive",
        parents=[common],
        help="register the problems an evaluated period's comments, low scores and flags propose",
    )
    q.add_argument("--period", required=True, help="half-year, e.g. 2026H1 (evaluated already)")
    q.add_argument(
        "--dry-run", action="store_true", help="list what would be proposed and registered; write nothing"
    )
    q.add_argument(
        "--today", metavar="YYYY-MM-DD", help="record the change as made on this day (default: now)"
    )
    q.set_defaults(func=cmd_problems_derive)
    q = problems.add_parser(
        "export",
        parents=[common],
        help="write each unit's workbook of its unsettled problems (assigns open ones)",
    )
    q.add_argument("--period", required=True, help="half-year, e.g. 2026H1: problems registered up to it")
    q.add_argument("--unit", help="only this unit (code or name); its workbook is written even when empty")
    q.add_argument("--out", required=True, type=Path, help="folder for problems_<period>_<unit>.xlsx")
    q.add_argument(
        "--today", metavar="YYYY-MM-DD", help="record the change as made on this day (default: now)"
    )
    q.set_defaults(func=cmd_problems_export)
    q = problems.add_parser("import", parents=[common], help="read the workbooks units returned")
    q.add_argument("paths", nargs="+", type=Path, metavar="path")
    q.add_argument(
        "--today", metavar="YYYY-MM-DD", help="record the change as made on this day (default: now)"
    )
    q.set_defaults(func=cmd_problems_import)
    q = problems.add_parser(
        "verify", parents=[common], help="confirm a resolved problem is rectified (or --reopen it)"
    )
    q.add_argument("problem_id")
    q.add_argument("--reopen", action="store_true", help="the rectification does not hold: reopen it")
    q.add_argument("--note", help="why, kept in the problem's history")
    q.add_argument(
        "--today", metavar="YYYY-MM-DD", help="record the change as made on this day (default: now)"
    )
    q.set_defaults(func=cmd_problems_verify)
    q = problems.add_parser(
        "escalate", parents=[common], help="take the supervision steps due (一次督办, 二次督办, 问责)"
    )
    q.add_argument("--today", metavar="YYYY-MM-DD", help="the day to act on (default: today in the city)")
    q.set_defaults(func=cmd_problems_escalate)
    q = problems.add_parser("list", parents=[common], help="problems in the register")
    q.add_argument("--unit", help="a unit's code or name")
    q.add_argument("--status", help="open, assigned, in_progress, resolved, verified or reopened")
    q.add_argument("--period", help="only the problems raised in this half-year")
    q.add_argument("--today", metavar="YYYY-MM-DD", help="the day the totals are as of (default: today)")
    q.set_defaults(func=cmd_problems_list)

    p = sub.add_parser("demo-data", help="write a realistic demo data set")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--respondents", type=int, default=3000)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo_data)
    return parser


def _fail(args: argparse.Namespace, exc: BizenvError) -> int:
    print(f"bizenv: error: {exc}", file=sys.stderr)
    if args.command in JSON_COMMANDS:
        _emit({"status": "error", "exit_code": exc.exit_code, "message": str(exc)})
    return exc.exit_code


def _within(path: str, folder: Path) -> bool:
    path, root = os.path.abspath(path), os.path.abspath(folder)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def environment_fault(args: argparse.Namespace, exc: Exception) -> BizenvError | None:
    """The exit-2 error for a fault of the environment rather than of the code: a file or folder
    given to the command (or configured) that cannot be read or written, or a warehouse that is
    read-only, full, locked or unreachable. None when `exc` is a bug."""
    if isinstance(exc, OSError):
        if exc.filename is None:
            return None
        from bizenv.config import PROJECT_ROOT, landing_dir, schemas_dir

        name = os.fsdecode(exc.filename)
        given = [getattr(args, attr, None) for attr in ("path", "out", "margins")]
        places = [Path(p) for p in given if p] + [PROJECT_ROOT / "var", schemas_dir(), landing_dir()]
        if not any(_within(name, place) for place in places):
            return None
        return BizenvError(exc.strerror or type(exc).__name__, file=name)
    if type(exc).__module__.startswith("sqlalchemy"):
        from sqlalchemy.exc import DBAPIError

        from bizenv.config import database_url
        from bizenv.warehouse.engine import database_fault

        if isinstance(exc, DBAPIError):
            return database_fault(exc, database_url(getattr(args, "db", None)))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BizenvError as exc:
        return _fail(args, exc)
    except Exception as exc:
        fault = environment_fault(args, exc)
        if fault is not None:  # unusable input or configuration, not a bug
            return _fail(args, fault)
        if os.environ.get("BIZENV_DEBUG"):
            raise
        # A bug, not bad input: one line, with a way to see more.
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        print(f"bizenv: internal error: {message} (set BIZENV_DEBUG=1 for a traceback)", file=sys.stderr)
        if args.command in JSON_COMMANDS:
            _emit({"status": "error", "exit_code": 3, "message": message})
        return 3


if __name__ == "__main__":
    sys.exit(main())
