"""The watch view's pool panel: a campaign group's shared operators, realized vs target shares, abandonment
per campaign and per pool."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from textual.widgets import Static

from dialer.views.watch import WatchApp
from tests.views.conftest import FixedClock, Scene, campaign_doc, operator_doc, publish, snapshot, until

pytestmark = pytest.mark.db


def group_doc(scene: Scene, other_id: int, **extra: Any) -> dict[str, Any]:
    doc = {
        "id": 1, "name": "floor", "reserved": 1, "group_ledger": False,
        "operators": {"logged_in": 4, "free": 1, "busy": 3, "paused": 0}, "occupancy": 0.78,
        "abandonment": {"answers": 150, "abandons": 3, "rate": 0.02, "cap": 0.03, "window_hours": 24},
        "members": [
            {"id": scene.campaign_id, "name": "winter", "share": 70, "target_share": 0.7, "priority": 1,
             "handle_s": 660.0, "placed": 300, "has_work": True},
            {"id": other_id, "name": "spring", "share": 30, "target_share": 0.3, "priority": 0,
             "handle_s": 340.0, "placed": 90, "has_work": False},
        ],
    }
    doc.update(extra)
    return doc


async def test_the_pool_panel_shows_the_shared_operators_and_realized_against_target_shares(
        db: asyncpg.Pool, scene: Scene) -> None:
    spring = campaign_doc(scene, id=scene.campaign_id + 1, name="spring",
                          abandonment={"window_hours": 24, "answers": 30, "abandons": 1, "rate": 1 / 30, "cap": 0.03,
                                       "last_hour": {}})
    doc = snapshot([campaign_doc(scene), spring], [operator_doc(scene)])
    doc["groups"] = [group_doc(scene, scene.campaign_id + 1)]
    app = WatchApp(db, FixedClock(), campaign="spring")
    async with app.run_test(size=(200, 50)) as pilot:
        await publish(db, doc)
        await until(pilot, lambda: app.floor.pools != ())
        await pilot.pause()
        shown = str(app.screen_stack[0].query_one("#pool", Static).content).splitlines()
    assert shown == [
        "pool floor (2 campaigns): 4 operators logged in — free 1, busy 3, paused 0; 1 kept free (reserved)",
        "pool occupancy 78%   abandoned 24 h window: 3/150 = 2.00% (sum of the campaigns, cap 3.0%)",
        "  winter  target 70.0%  realized 66.0% (-4.0 pts, -6%)  placed 300  abandoned 2/120 = 1.67%",
        "  spring  target 30.0%  realized 34.0% (+4.0 pts, +13%)  placed 90  abandoned 1/30 = 3.33%"
        "  (nothing to dial: its share flows to the others)",
    ]


async def test_a_campaign_outside_any_group_shows_no_pool_panel(db: asyncpg.Pool, scene: Scene) -> None:
    app = WatchApp(db, FixedClock(), campaign="winter")
    async with app.run_test(size=(200, 50)) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.pause()
        assert str(app.screen_stack[0].query_one("#pool", Static).content) == ""
