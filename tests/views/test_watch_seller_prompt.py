"""The watch view's start key obeys the same rule as `dialer campaign start`: under a preset that wants the
seller named, no start without the campaign's seller prompt."""

from __future__ import annotations

import asyncpg
import pytest

from compliance import store as compliance_store
from compliance.rules import CampaignRules
from tests.views.conftest import Scene, campaign_doc, operator_doc, publish, snapshot, until
from tests.views.test_watch import SIZE, text, watch

pytestmark = pytest.mark.db


async def test_the_campaign_key_does_not_start_a_campaign_without_its_seller_prompt(
        db: asyncpg.Pool, scene: Scene) -> None:
    await db.execute("UPDATE campaign SET state = 'paused' WHERE id = $1", scene.campaign_id)
    async with db.acquire() as conn:
        await compliance_store.set_campaign_rules(conn, scene.campaign_id, CampaignRules(preset="RU"))
    app = watch(db, actor="supervisor:200")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.press("s")
        await until(pilot, lambda: "seller prompt" in text(app, "#message"))
        assert "dialer campaign prompts winter" in text(app, "#message")
    assert await db.fetchval("SELECT state FROM campaign WHERE id = $1", scene.campaign_id) == "paused"
