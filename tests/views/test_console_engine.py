"""What the operator console says about the engine behind it: none running its campaign, one gone silent,
one stopped; the commands typed meanwhile are written all the same."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from dialer.views.operator_console import OperatorConsole, find_operator
from tests.views.conftest import (
    NOW,
    FixedClock,
    Scene,
    campaign_doc,
    commands,
    operator_doc,
    publish,
    snapshot,
    type_into,
    until,
)
from tests.views.test_operator_console import NOBODY, SIZE, text

pytestmark = pytest.mark.db


async def test_the_console_says_when_the_engine_has_gone_silent(db: asyncpg.Pool, scene: Scene) -> None:
    clock = FixedClock()
    app = OperatorConsole(db, await find_operator(db, "Anna"), clock)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "READY" in text(app, "#status"))
        assert "no news" not in text(app, "#status")
        clock.moment = NOW + timedelta(seconds=12)
        await until(pilot, lambda: "no news from the engine for 12 s" in text(app, "#status"))


async def test_the_console_says_no_engine_runs_its_campaign_until_one_does(db: asyncpg.Pool, scene: Scene) -> None:
    clock = FixedClock()
    app = OperatorConsole(db, await find_operator(db, "Anna"), clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: NOBODY in text(app, "#status"))        # before any key: no engine ever wrote
        await pilot.press("f5")
        await until(pilot, lambda: "login sent" in text(app, "#message"))
        assert NOBODY in text(app, "#message") and "when one starts" in text(app, "#message")
        await type_into(pilot, "#dial-phone", "+74951234567")
        await pilot.press("f4")
        await until(pilot, lambda: "dial sent" in text(app, "#message"))
        assert NOBODY in text(app, "#message") and "60 s" in text(app, "#message")   # a call waits a minute only
        assert [c for c, _, _ in await commands(db)] == ["login", "dial"]         # nothing lost: written all the same

        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: NOBODY not in text(app, "#status"))           # an engine started: gone by itself
        await pilot.press("f2")
        await until(pilot, lambda: "ready sent" in text(app, "#message"))
        assert NOBODY not in text(app, "#message")

        clock.moment = NOW + timedelta(seconds=12)                                 # the engine stopped writing
        await until(pilot, lambda: NOBODY in text(app, "#status"))


async def test_an_engine_that_stops_is_known_at_once_not_when_its_picture_grows_old(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = OperatorConsole(db, await find_operator(db, "Anna"), FixedClock())     # the clock stands still
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "READY" in text(app, "#status") and NOBODY not in text(app, "#status"))
        # Ctrl-C on `dialer run`: its last picture says so, written at the same moment as the one before
        await publish(db, {**snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]),
                           "stopped": True})
        await until(pilot, lambda: NOBODY in text(app, "#status"))
        await pilot.press("f2")
        await until(pilot, lambda: "ready sent" in text(app, "#message"))
        assert "when one starts" in text(app, "#message")
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: NOBODY not in text(app, "#status"))           # started again


async def test_a_campaign_of_the_operator_that_runs_keeps_the_commands_plain(db: asyncpg.Pool, scene: Scene) -> None:
    other = await db.fetchval(
        """INSERT INTO campaign (name, channel_template, caller_id, timezone, state)
           VALUES ('spring', 'Local/{phone}@test', '+74950000000', 'UTC', 'running') RETURNING id""")
    await db.execute("INSERT INTO campaign_operator VALUES ($1, $2)", other, scene.operator_id)
    app = OperatorConsole(db, await find_operator(db, "Anna"), FixedClock())
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "no engine runs campaign spring:" in text(app, "#status"))   # winter's is up
        await pilot.press("f2")
        await until(pilot, lambda: "ready sent" in text(app, "#message"))
        assert text(app, "#message") == "ready sent"     # the engine of winter has the operator: it answers


async def test_a_killed_engine_is_known_as_soon_as_its_picture_is_late(db: asyncpg.Pool, scene: Scene) -> None:
    """Seen by hand: after `kill -9` the console said nothing for 9 s (its threshold is 10 s); the engine's
    name, free once its session with the store is gone, says it after 2."""
    clock = FixedClock()
    app = OperatorConsole(db, await find_operator(db, "Anna"), clock)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "READY" in text(app, "#status") and NOBODY not in text(app, "#status"))
        clock.moment = NOW + timedelta(seconds=3)
        await until(pilot, lambda: NOBODY in text(app, "#status"))
