import pytest

from bizenv.cli import build_parser, main

CONTRACT = ["init-db", "load-survey", "load-metrics", "evaluate", "status", "demo-data"]


def test_help_lists_the_contract_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in CONTRACT:
        assert command in out


def test_every_warehouse_command_takes_db():
    parser = build_parser()
    for argv in (
        ["init-db"],
        ["load-survey", "f.csv", "--period", "2026H1"],
        ["evaluate", "--period", "2026H1"],
        ["status"],
    ):
        assert parser.parse_args([*argv, "--db", "sqlite://"]).db == "sqlite://"


def test_a_failing_json_command_still_ends_with_a_json_line(tmp_path, capsys):
    import json

    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert main(["init-db", "--db", db]) == 0
    capsys.readouterr()
    assert main(["load-metrics", str(tmp_path / "m.csv"), "--period", "2026H1", "--db", db]) == 2
    out, err = capsys.readouterr()
    last = json.loads(out.strip().splitlines()[-1])
    assert last["status"] == "error" and last["exit_code"] == 2
    assert err.strip() == f"bizenv: error: {last['message']}"


def test_uninitialised_warehouse_is_named(tmp_path, capsys):
    code = main(["status", "--db", f"sqlite:///{tmp_path / 'empty.sqlite'}"])
    assert code == 2
    assert "run `bizenv init-db` first" in capsys.readouterr().err


def test_init_db_then_status(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert main(["init-db", "--db", db]) == 0
    assert '"units": 35' in capsys.readouterr().out
    assert main(["status", "--db", db]) == 0
    assert "no survey batches loaded yet" in capsys.readouterr().out


def test_status_shows_batches_refusals_and_validation_failures(tmp_path, capsys):
    from tests.builders import survey_row, unit_sample, write_survey

    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    main(["init-db", "--db", db])
    good = write_survey(tmp_path / "good.csv", unit_sample("市发改委", 10, "非常满意"))
    bad = write_survey(
        tmp_path / "bad.csv", [survey_row(respondent=50 + i, unit="市教育局") for i in range(3)]
    )
    main(["load-survey", str(good), "--period", "2026H1", "--db", db])
    main(["load-survey", str(bad), "--period", "2026H1", "--db", db])
    capsys.readouterr()
    assert main(["status", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "2026H1  accepted  1 batch(es), 10 rows: 10 accepted, 0 quarantined" in out
    assert "2026H1  refused   1 batch(es), 3 rows: 0 accepted, 3 quarantined" in out
    assert "failed expectation(s) or quality warning(s) in survey_batch" in out
    assert "in survey_quality_rules" in out


def test_demo_data_writes_surveys_metrics_margins_and_a_wenjuanxing_export(tmp_path, capsys):
    assert main(["demo-data", "--out", str(tmp_path), "--respondents", "200", "--seed", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "margins_2025H2.csv",
        "margins_2026H1.csv",
        "metrics_2025H2.csv",
        "metrics_2026H1.csv",
        "survey_2025H2.csv",
        "survey_2026H1.csv",
        "survey_2026H1_wenjuanxing.csv",
    ]
    (tmp_path / "survey_2026H1_wenjuanxing.csv").read_bytes().decode("gb18030")
