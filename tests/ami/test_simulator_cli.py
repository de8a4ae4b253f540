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


def test_sim_pbx_plainly_answers_half_its_calls_within_seconds_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new user's first `dialer sim-pbx` shows a call reach an operator within the first minute: at the
    defaults half the callees answer after 2-8 s (with 30 % after 3-15 s, the first half minute of three
    operators often connected nothing), and the simulator says at start what its callees do."""
    from types import SimpleNamespace

    import ami.simulator.standalone as standalone

    seen = {}

    async def fake_serve(host: str, port: int, callees: object, users: object, on_ready: object,
                         **_: object) -> None:
        seen["callees"] = callees
        on_ready(SimpleNamespace(host=host, port=port, users={}))     # type: ignore[operator]

    monkeypatch.setattr(standalone, "serve", fake_serve)
    result = CliRunner().invoke(app, ["sim-pbx", "--port", "0"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "callees: 50% answer after 2-8 s of ringing" in said, said
    assert "38% ring until the engine gives up" in said, said
    fates = [seen["callees"].fate(f"+1305555{i:04d}") for i in range(400)]    # type: ignore[attr-defined]
    answered = [f for f in fates if f.outcome == "answer"]
    assert 0.4 < len(answered) / len(fates) < 0.6
    assert all(2.0 <= f.ring_s <= 8.0 for f in answered)


def test_sim_pbx_scripted_says_the_first_digit_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import ami.simulator.standalone as standalone

    async def fake_serve(host: str, port: int, callees: object, users: object, on_ready: object,
                         **_: object) -> None:
        on_ready(SimpleNamespace(host=host, port=port, users={}))     # type: ignore[operator]

    monkeypatch.setattr(standalone, "serve", fake_serve)
    result = CliRunner().invoke(app, ["sim-pbx", "--port", "0", "--scripted"])
    assert "callees: the first digit of the number decides" in " ".join(result.output.split())
