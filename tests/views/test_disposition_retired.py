"""A retired code through the real console, control plane and engine: not offered for a new call, and when
it is retired while the call is on screen the console is told and the wrap-up stays open for another code."""

from __future__ import annotations

import asyncpg
import pytest
from textual.widgets import Select, Static

from dialer.clock import SystemClock
from dialer.engine import Engine
from dialer.views.console.status_bar import StatusBar
from dialer.views.operator_console import OperatorConsole, find_operator
from lists import disposition_catalogue
from tests.engine.fake_pbx import FakePbx
from tests.views.conftest import until
from tests.views.test_with_engine import answer_first_call, engine  # noqa: F401  (the fixture)

pytestmark = pytest.mark.db


async def retire(db: asyncpg.Pool, code: str) -> None:
    """A manager removes a code calls were given (a lead's last code names it), so it is retired."""
    campaign_id = await db.fetchval("SELECT id FROM campaign WHERE name = 'c1'")
    await db.execute(
        "INSERT INTO lead (campaign_id, phone, state, last_disposition) VALUES ($1, $2, 'done', $3)",
        campaign_id, f"+1555000{9000 + len(code):04d}", code)
    async with db.acquire() as conn:
        removed = await disposition_catalogue.remove(conn, campaign_id, [code], actor="manager",
                                                     now=SystemClock().now())
    assert removed.retired == [code]


async def test_a_retired_code_is_not_offered_and_one_retired_meanwhile_is_refused_with_the_wrap_up_kept(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:  # noqa: F811
    _, pbx = engine
    await retire(db, "not_our_audience")
    app = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock())
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.click("#login")                   # the person logs in; the engine calls the phone
        await answer_first_call(pbx)
        await until(pilot, lambda: "ON CALL" in app.query_one(StatusBar).line())
        await until(pilot, lambda: "Grace" in str(app.query_one("#card", Static).content))
        select = app.query_one("#disposition", Select)
        offered = [value for _, value in select._options if value is not Select.NULL]
        assert "not_our_audience" not in offered and {"sale", "not_interested", "do_not_call"} <= set(offered)

        await retire(db, "not_interested")       # while the call is on screen
        select.value = "not_interested"
        await pilot.click("#save")
        await until(pilot, lambda: "refused" in str(app.query_one("#message", Static).content), timeout=10)
        message = str(app.query_one("#message", Static).content)
        assert "disposition 'not_interested' was retired" in message and "choose another" in message, message
        assert await db.fetchval("SELECT count(*) FROM attempt WHERE disposition IS NOT NULL") == 0
        assert "READY" not in app.query_one(StatusBar).line()    # not taken for a saved code
        assert not app.query_one("#save").disabled          # the call is back on screen to choose again
        offered = [value for _, value in select._options if value is not Select.NULL]
        assert "not_interested" not in offered and "sale" in offered       # the choices as they are now

        select.value = "sale"
        # the key: a second click on the button within its 0.2 s press effect is not a press
        await pilot.press("ctrl+s")
        for _ in range(250):
            if await db.fetchval("SELECT disposition FROM attempt WHERE disposition IS NOT NULL"):
                break
            await pilot.pause(0.02)
    assert await db.fetchval("SELECT disposition FROM attempt WHERE disposition IS NOT NULL") == "sale"
