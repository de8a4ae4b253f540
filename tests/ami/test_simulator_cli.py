"""``dialer sim-pbx``: bad options are refused with the option named, before anything listens."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ami.simulator.standalone import parse_range
from cli import app


@pytest.mark.parametrize(("args", "complaint"), [
    (["--ring", "5-x"], "--ring '5-x'"),
    (["--ring", "9-3"], "0 <= LOW <= HIGH"),
    (["--answer", "0.9", "--busy", "0.3"], "add up to 1.22"),
    (["--manager-conf", "/no/such/manager.conf"], "/no/such/manager.conf"),
])
def test_sim_pbx_refuses_bad_options_by_name(args: list[str], complaint: str) -> None:
    result = CliRunner().invoke(app, ["sim-pbx", "--port", "0", *args])
    assert result.exit_code == 2
    assert complaint in " ".join(result.output.split())


def test_ring_range_accepts_a_fixed_time_or_a_range() -> None:
    assert parse_range("4", option="--ring") == (4.0, 4.0)
    assert parse_range("2.5-10", option="--ring") == (2.5, 10.0)
