"""Each dial carries what the engine knew of its lead, and the snapshot carries each call's chance of an answer."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from ami.pbx import CallAnswered
from dialer.answer_chances import features_of, local_hour
from dialer.engine import Engine
from lists.leads import ClaimedLead
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def test_a_dial_carries_its_leads_category_and_attempt_and_the_snapshot_its_chance(db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=2, leads_n=4)
    await db.execute("UPDATE lead SET category = 'callback'")
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 2)
        campaign_id = next(iter(engine.runners))
        calls = [engine.calls[c.channel_id] for c in pbx.customer_calls()]
        assert all(c.features is not None and c.features.category == "callback" and c.features.attempt == 1
                   and c.features.local_hour == 12 for c in calls)
        snapshot = engine.snapshot(campaign_id)
        assert len(snapshot.ringing_answer_p) == len(snapshot.ringing_elapsed_s) == 2
        assert snapshot.next_answer_p and 0 < snapshot.next_answer_p[0] < 1
        chances = engine.answer_chances[campaign_id]
        before = chances.model.probability(calls[0].features)   # type: ignore[arg-type]
        pbx.emit(CallAnswered(calls[0].channel_id))
        await until(lambda: chances.model.probability(calls[0].features) != before)  # type: ignore[arg-type]
        assert chances.model.probability(calls[0].features) > before   # type: ignore[arg-type]
    finally:
        await engine.stop(drain_s=0)


def test_features_of_a_claimed_lead() -> None:
    lead = ClaimedLead(1, 1, "+447700900000", "Europe/London", {}, "follow_up", 3, None,
                       contact_history=((), (False, True), ()))
    f = features_of(lead, datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "UTC")
    assert (f.category, f.attempt, f.local_hour, f.answered_before, f.dialed_before) == ("follow_up", 3, 13, 1, 2)
    assert local_hour(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "Nowhere/Else", "America/New_York") == 8
