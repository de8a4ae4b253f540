"""A burst of calls to place goes out in rounds, so the hand-off of calls answered meanwhile never waits
behind thousands of Originates."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

from dialer.claims import Claimer
from dialer.engine import Engine
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def test_a_burst_is_dialed_in_rounds_of_at_most_max_calls_per_round_and_all_go_out(
        db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    await make_campaign(db, operators_n=5, leads_n=10)
    pbx = FakePbx()
    rounds: list[int] = []
    engine = Engine(db, pbx, midday(), dataclasses.replace(CONFIG, max_calls_per_round=2))
    claim = Claimer.claim

    async def counted(self, conn, campaign, *, wanted, **kwargs):  # type: ignore[no-untyped-def]
        rounds.append(wanted)
        return await claim(self, conn, campaign, wanted=wanted, **kwargs)

    monkeypatch.setattr(Claimer, "claim", counted)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) == 5)     # one per free operator, progressive
        assert max(rounds) == 2
    finally:
        await engine.stop(drain_s=0)
