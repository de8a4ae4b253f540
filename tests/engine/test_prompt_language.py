"""The language of a campaign's prompts reaches Asterisk: the engine sets CHANNEL(language) on its Originate,
so the safe-harbor message, the opt-out and the rating menu play from sounds/<language>/dialer/."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from dialer.engine import Engine
from lists import campaigns, operators
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, midday, until

pytestmark = pytest.mark.db


@pytest.mark.parametrize("language", ["ru", None])
async def test_the_originate_carries_the_campaigns_prompt_language(db: asyncpg.Pool, language: str | None) -> None:
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+74950000000")
    await db.execute("UPDATE campaign SET language = $2 WHERE id = $1", campaign.id, language)
    op = await operators.create(db, name="op1", extension="101", simulated=True)
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[op.id])
    await db.execute("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, '+74950001122', 'UTC')",
                       campaign.id)
    await campaigns.set_state(db, "c1", "running", actor="test", now=datetime.now(UTC))
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 1)
    finally:
        await engine.stop(drain_s=0)

    variables = pbx.customer_calls()[0].variables
    if language is None:     # the channel keeps its own language (pjsip.conf's endpoint `language=`)
        assert not any(name.startswith("CHANNEL(") for name in variables)
    else:
        assert variables["CHANNEL(language)"] == language
    assert variables["DIALER_SELLER_PROMPT"] == f"dialer/seller-{campaign.id}"
