"""``dialer simulate`` refuses a bad option naming the option the person typed (``--talk``), not the
simulator's field behind it (``talk_mean_s``), and refuses options that only mean something with --group."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cli


@pytest.mark.parametrize(("extra", "named"), [
    (["--answer-rate", "1.5"], "--answer-rate"),
    (["--answer-rate", "-0.1"], "--answer-rate"),
    (["--talk", "0"], "--talk"),
    (["--talk", "-5"], "--talk"),
    (["--wrap", "-1"], "--wrap"),
    (["--hours", "0"], "--hours"),
    (["--optimize", "wait"], "--target"),
    (["--reserved", "3"], "--group"),
    (["--group-ledger"], "--group"),
])
def test_a_bad_option_is_refused_by_its_name(extra: list[str], named: str) -> None:
    args = ["simulate", "--agents", "5", "--talk", "60", "--hours", "0.2", *extra]
    result = CliRunner().invoke(cli.app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert named in result.output, result.output
    assert "talk_mean_s" not in result.output and "optimize_target" not in result.output, result.output
