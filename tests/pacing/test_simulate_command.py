"""``dialer simulate`` as a supervisor types it: the world's new options, the figures by quarter of an hour,
and one line naming the option for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli

STRATEGY = Path(__file__).resolve().parents[2] / "benchmarks" / "strategy-day.json"


def simulate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, ["simulate", "--agents", "6", "--hours", "1", *args],
                                env={"COLUMNS": "200"})
    return result.exit_code, result.output


def day(*args: str) -> dict:  # type: ignore[type-arg]
    code, output = simulate("--json", *args)
    assert code == 0, output
    return json.loads(output)


def test_json_carries_quarters_and_the_worst_hour() -> None:
    report = day("--talk", "60")
    assert [q["start_s"] for q in report["quarters"]] == [0.0, 900.0, 1800.0, 2700.0]
    assert sum(q["dials"] for q in report["quarters"]) == report["dials"]
    assert sum(q["abandons"] for q in report["quarters"]) == report["abandons"]
    assert 0 <= report["worst_hour_abandon_rate"] <= 1


def test_a_profile_moves_the_answer_rate_hour_by_hour() -> None:
    flat = day("--talk", "60", "--answer-rate", "0.35", "--hours", "2", "--mode", "progressive")
    dropped = day("--talk", "60", "--answer-rate", "0.35", "--hours", "2", "--mode", "progressive",
                  "--profile", "0:0.35,1:0.1")
    assert flat["quarters"][:4] == dropped["quarters"][:4]
    late = [sum(q[k] for q in dropped["quarters"][4:]) for k in ("answers", "dials")]
    assert late[0] / late[1] == pytest.approx(0.1, abs=0.03)


def test_a_strategy_file_dials_its_categories_at_their_rates() -> None:
    report = day("--talk", "60", "--hours", "9", "--agents", "3", "--mode", "progressive",
                 "--strategy", str(STRATEGY))
    morning = report["quarters"][:16]
    afternoon = report["quarters"][16:28]
    rate = [sum(q["answers"] for q in part) / sum(q["dials"] for q in part) for part in (morning, afternoon)]
    assert rate[0] == pytest.approx(0.1, abs=0.03) and rate[1] == pytest.approx(0.4, abs=0.05), rate
    code, output = simulate("--talk", "60", "--strategy", str(STRATEGY))
    assert code == 0 and f"strategy {STRATEGY}" in output, output


def test_talk_law_window_and_baseline_options_change_the_day() -> None:
    base = day("--talk", "90")
    assert day("--talk", "90", "--talk-dist", "gamma")["occupancy"] != base["occupancy"]
    held = day("--talk", "90", "--window", "24h", "--before", "3000:99")
    # a window over the cap from yesterday (3.3 %) holds today back until enough of yesterday's calls, made
    # in the same hours as today's, have left the 24-hour window
    assert held["occupancy"] < base["occupancy"] and held["worst_window_abandon_rate"] > 0.025
    code, output = simulate("--talk", "90", "--window", "24h", "--before", "3000:99")
    assert code == 0 and "legal window at the day's end" in output, output
    assert day("--talk", "90", "--before", "simulate")["window_abandon_rate"] > 0
    assert day("--talk", "90", "--pacer", "vici-tapered")["pacer"] == "vicidial-tapered"


@pytest.mark.parametrize(("args", "named"), [
    (["--talk", "60", "--profile", "0:0.3,2"], "--profile: '2' is not HOUR:RATE"),
    (["--talk", "60", "--profile", "0:0.3,2:1.5"], "--profile: answer rate 1.5"),
    (["--talk", "60", "--strategy", "/no/such/strategy.json"], "--strategy: there is no file"),
    (["--talk", "60", "--window", "7d"], "--window: '7d' is not 24h or 30d"),
    (["--talk", "60", "--window", "30d", "--preset", "UK"], "longer than the UK window"),
    (["--talk", "60", "--before", "5:9"], "--before: '5:9'"),
    (["--talk", "60", "--profile", "0:0.3", "--strategy", str(STRATEGY)], "not both"),
    (["--talk", "60", "--start", "25:00", "--strategy", str(STRATEGY)], "--start: '25:00'"),
    (["--answer-rate", "0.3"], "give --talk"),
    (["--talk", "60", "--from-campaign", "spring"], "give one"),
    (["--talk", "60", "--group", "A:share=1", "--profile", "0:0.3"], "--profile: for one campaign's day"),
])
def test_bad_input_gets_one_line_naming_the_option(args: list[str], named: str) -> None:
    code, output = simulate(*args)
    assert code == 2 and named in output and "Traceback" not in output, output
    assert len(output.strip().splitlines()) == 1, output


def test_a_strategy_file_without_a_rate_for_a_category_it_dials_says_which(tmp_path: Path) -> None:
    document = json.loads(STRATEGY.read_text())
    del document["answer_rates"]["callback"]
    path = tmp_path / "strategy.json"
    path.write_text(json.dumps(document))
    code, output = simulate("--talk", "60", "--hours", "9", "--strategy", str(path))
    assert code == 2 and "callback" in output and "answer_rates" in output, output
    path.write_text("{not json")
    code, output = simulate("--talk", "60", "--strategy", str(path))
    assert code == 2 and "is not JSON" in output, output


def test_the_strategy_day_dials_the_head_of_the_order_in_force_and_skips_categories_without_leads() -> None:
    from dialer.sim.scenario import dialed_categories
    from lists.strategy import from_json

    strategy = from_json({"windows": [{"from": "09:00", "to": "13:00", "order": ["cold"]},
                                      {"from": "13:00", "to": "24:00", "order": ["callback", "follow_up"]}]})
    assert dialed_categories(strategy, 8.0, 17.0) == [(0.0, "callback"), (3600.0, "cold"), (5 * 3600.0, "callback"),
                                                      (16 * 3600.0, "callback")]
    assert dialed_categories(strategy, 9.0, 9.0, available={"cold", "follow_up"}) == [(0.0, "cold"),
                                                                                       (4 * 3600.0, "follow_up")]
