"""The supervisor's watch view, headless, fed through the real store."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, Select, Sparkline, Static

from dialer.views.picture import parse_picture
from dialer.views.tuning_form import estimate_change
from dialer.views.watch import WatchApp, pacing_lines
from lists import campaigns
from tests.views.conftest import NOW, FixedClock, Scene, campaign_doc, commands, operator_doc, publish, snapshot, until

pytestmark = pytest.mark.db

SIZE = (200, 50)


def text(app: WatchApp, selector: str) -> str:
    return str(app.screen_stack[0].query_one(selector, Static).content)


def watch(db: asyncpg.Pool, **options: object) -> WatchApp:
    return WatchApp(db, FixedClock(), campaign=options.pop("campaign", "winter"), **options)  # type: ignore[arg-type]


async def test_the_view_shows_operators_calls_in_flight_and_pacing(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.pause()
        table = app.query_one("#operators", DataTable)
        assert [str(c) for c in table.get_row_at(0)] == ["Anna", "101", "on call", "0:42", "14", "40:10", "83%"]
        assert text(app, "#calls") == \
            "calls in flight: originating 3  waiting 1  handing off 0  connected 5  safe harbor 0"
        pacing = text(app, "#pacing")
        assert "mode: predictive  α=0.025" in pacing
        assert "lines per operator: 4.00 now, max 3.0" in pacing      # 3 ringing + 1 waiting, one operator working
        assert "answer rate: 30.0% (42 answers seen)" in pacing
        assert "ring to answer: 10.0 s   handle: 190 s (talk 180 + wrap 10)" in pacing
        assert "abandoned last hour: 1/40 = 2.50%" in pacing
        assert "abandoned 24 h window: 2/120 = 1.67% (target 2.5%, cap 3.0%)" in pacing
        assert "OVER CAP" not in pacing
        assert "today" not in pacing                        # this engine does not publish it


def test_one_answer_seen_is_singular(scene: Scene) -> None:
    doc = campaign_doc(scene)
    doc["estimates"]["samples"] = 1
    floor = parse_picture([snapshot([doc], [operator_doc(scene)])])
    pacing = pacing_lines(floor.campaigns[0], floor.operators)
    assert "answer rate: 30.0% (1 answer seen)" in pacing


async def test_todays_abandonment_is_shown_when_the_engine_publishes_it(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db)
    doc = campaign_doc(scene)
    doc["abandonment"]["today"] = {"answers": 80, "abandons": 2}
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([doc], [operator_doc(scene)]))
        await until(pilot, lambda: "today" in text(app, "#pacing"))
        assert "abandoned today: 2/80 = 2.50%" in text(app, "#pacing")


async def test_the_fall_back_to_progressive_and_an_exceeded_cap_are_visible(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db)
    over = campaign_doc(scene, effective_mode="progressive",
                        abandonment={"window_hours": 24, "answers": 100, "abandons": 4, "rate": 0.04, "cap": 0.03,
                                     "last_hour": {"answers": 10, "abandons": 2}})
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([over], [operator_doc(scene)]))
        await until(pilot, lambda: "OVER CAP" in text(app, "#pacing"))
        assert "predictive → progressive (abandonment fall-back)" in text(app, "#pacing")


async def test_the_plots_follow_each_snapshot(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        for abandons, occupancy in ((0, 0.5), (1, 0.7), (3, 0.9)):
            doc = campaign_doc(scene, abandonment={"window_hours": 24, "answers": 100, "abandons": abandons,
                                                   "rate": abandons / 100, "cap": 0.03, "last_hour": {}})
            await publish(db, snapshot([doc], [operator_doc(scene, occupancy=occupancy)]))
            await until(pilot, lambda a=abandons: app.campaign is not None and app.campaign.abandonment.abandons == a)
        assert list(app.query_one("#abandon-plot", Sparkline).data or []) == [0.0, 0.01, 0.03]
        assert list(app.query_one("#occupancy-plot", Sparkline).data or []) == [0.5, 0.7, 0.9]
        assert str(app.query_one("#occupancy-label", Label).content) == "occupancy now 90% (min 50%, max 90%)"
        assert str(app.query_one("#abandon-label", Label).content) == \
            "abandonment (24 h window) now 3.00%, cap 3.0%"


async def test_a_campaign_that_no_engine_runs_is_named(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db, campaign="summer")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.floor.campaigns != ())
        await pilot.pause()
        assert text(app, "#title").startswith("campaign 'summer' is not running on any engine")
        assert app.query_one("#operators", DataTable).row_count == 0


async def test_keys_pause_the_selected_operator_and_listen_in(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db, supervisor_extension="200", actor="supervisor:200")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
        await until(pilot, lambda: app.query_one("#operators", DataTable).row_count == 1)
        await pilot.press("o", "l", "b")
        await pilot.pause()
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "paused", pause_reason="supervisor")]))
        await until(pilot, lambda: app.selected_operator() is not None and app.selected_operator().state == "paused")
        assert "paused (supervisor)" in str(app.query_one("#operators", DataTable).get_row_at(0)[2])
        await pilot.press("o")
        await pilot.pause()
    assert await commands(db) == [
        ("pause", {"reason": "supervisor"}, "supervisor:200"),
        ("spy", {"supervisor_extension": "200", "mode": "listen"}, "supervisor:200"),
        ("spy", {"supervisor_extension": "200", "mode": "barge"}, "supervisor:200"),
        ("ready", {}, "supervisor:200"),
    ]


async def test_a_command_done_says_for_whom(db: asyncpg.Pool, scene: Scene) -> None:
    """Seen by hand: `o` said "pause sent for Anna", then "pause: done" — for whom, on a floor of many?"""
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
        await until(pilot, lambda: app.selected_operator() is not None)
        await pilot.press("o")
        await until(pilot, lambda: text(app, "#message") == "pause sent for Anna")
        await db.execute("UPDATE operator_command SET done_at = now()")
        later = snapshot([campaign_doc(scene)], [operator_doc(scene, "paused", pause_reason="supervisor")])
        later["at"] = (NOW + timedelta(seconds=1)).isoformat()
        await publish(db, later)
        await until(pilot, lambda: "done" in text(app, "#message"))
        assert text(app, "#message") == "pause for Anna: done"


async def test_a_key_pressed_while_the_store_is_unreachable_is_said_and_the_view_lives(
        db: asyncpg.Pool, scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen by hand: `o` pressed while the embedded store was down ended the watch with a traceback."""
    from dialer.store import operator_commands

    async def unreachable(*_: object, **__: object) -> None:
        raise ConnectionRefusedError(111, "Connect call failed")

    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.selected_operator() is not None)
        monkeypatch.setattr(operator_commands, "send", unreachable)
        await pilot.press("o")
        await until(pilot, lambda: "store is unreachable" in text(app, "#message"))
        monkeypatch.setattr(campaigns, "get", unreachable)
        await pilot.press("s")
        await until(pilot, lambda: "campaign winter not changed" in text(app, "#message"))
        assert app.is_running


async def test_spying_needs_the_supervisors_extension(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.query_one("#operators", DataTable).row_count == 1)
        await pilot.press("w")
        await pilot.pause()
        assert "--extension" in text(app, "#message")
    assert await commands(db) == []


async def test_the_campaign_key_pauses_a_running_campaign_with_an_audit_row(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db, actor="supervisor:200")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.press("s")
        await until(pilot, lambda: "paused" in text(app, "#message"))
    assert await db.fetchval("SELECT state FROM campaign WHERE id = $1", scene.campaign_id) == "paused"
    audit = await db.fetchrow("SELECT actor, setting, new_value FROM audit")
    assert (audit["actor"], audit["setting"], json.loads(audit["new_value"])) == ("supervisor:200", "state", "paused")


async def test_the_tuning_form_shows_the_change_then_applies_it_with_an_audit_row(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db, actor="supervisor:200")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        form.query_one("#set-target_abandon", Input).value = "0.02"
        form.query_one("#set-max_lines_per_operator", Input).value = "2.5"
        await pilot.pause()
        changes = str(form.query_one("#changes", Static).content)
        assert changes == "target_abandon: 0.025 → 0.02\nmax_lines_per_operator: 3.0 → 2.5"
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))   # the view keeps rendering
        await pilot.pause(0.2)
        await pilot.click("#apply")
        await until(pilot, lambda: "applied" in text(app, "#message"))
        assert text(app, "#message") == "winter: target_abandon=0.02, max_lines_per_operator=2.5 applied"
    pacing = json.loads(await db.fetchval("SELECT pacing FROM campaign WHERE id = $1", scene.campaign_id))
    assert pacing == {"target_abandon": 0.02, "max_lines_per_operator": 2.5}
    audit = await db.fetch("SELECT actor, setting FROM audit ORDER BY setting")
    assert [(r["actor"], r["setting"]) for r in audit] == [("supervisor:200", "max_lines_per_operator"),
                                                           ("supervisor:200", "target_abandon")]


async def open_tuning_form(db: asyncpg.Pool, scene: Scene, app: WatchApp, pilot: Pilot[None]) -> None:
    """A picture on the floor, then the supervisor presses t."""
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
    await until(pilot, lambda: app.campaign is not None)
    await pilot.press("t")
    await pilot.pause()


async def test_the_tuning_forms_focused_box_is_framed_differently_not_only_coloured(
        db: asyncpg.Pool, scene: Scene) -> None:
    def border(selector: str) -> str:
        widget = app.screen.query_one(selector)
        if isinstance(widget, Select):
            widget = widget.query_one("SelectCurrent")
        return widget.styles.border.top[0]

    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tuning_form(db, scene, app, pilot)
        app.screen.query_one("#set-target_abandon", Input).focus()
        await pilot.pause()
        assert border("#set-target_abandon") == "double"
        assert border("#set-max_lines_per_operator") != "double" and border("#mode") != "double"
        app.screen.query_one("#mode", Select).focus()
        await pilot.pause()
        assert border("#mode") == "double" and border("#set-target_abandon") != "double"


async def test_the_tuning_form_refuses_a_target_above_the_cap(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_tuning_form(db, scene, app, pilot)
        app.screen.query_one("#set-target_abandon", Input).value = "0.05"
        await pilot.pause()
        assert "cannot apply" in str(app.screen.query_one("#changes", Static).content)
        assert "target_abandon" in str(app.screen.query_one("#changes", Static).content)
        await pilot.click("#apply")
        await pilot.pause()
    assert await db.fetchval("SELECT pacing FROM campaign WHERE id = $1", scene.campaign_id) == "{}"


async def test_a_silent_engine_is_flagged_as_stale(db: asyncpg.Pool, scene: Scene) -> None:
    clock = FixedClock()
    app = WatchApp(db, clock, campaign="winter")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.pause()
        assert "STALE" not in text(app, "#title")
        clock.moment = NOW + timedelta(seconds=30)
        await until(pilot, lambda: "STALE" in text(app, "#title"))      # no new snapshot: the 1 s timer notices
        assert "no picture for 30 s" in text(app, "#title")


async def test_a_stopped_engine_is_said_stopped_at_once_with_the_time_of_its_last_picture(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = WatchApp(db, FixedClock(), campaign="winter")     # the clock stands still: no staleness to notice
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, {**snapshot([campaign_doc(scene)], [operator_doc(scene)]), "stopped": True})
        await until(pilot, lambda: "STOPPED" in text(app, "#title"))
        assert "engine-test stopped at 09:15:00" in text(app, "#title") and "STALE" not in text(app, "#title")
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))     # started again
        await until(pilot, lambda: "STOPPED" not in text(app, "#title"))


def test_the_what_if_dials_the_same_callees_under_both_settings() -> None:
    scene = Scene(campaign_id=1, operator_id=3, lead_id=12, attempt_id=77, earlier_attempt_id=70)
    [campaign] = parse_picture([snapshot([campaign_doc(scene)], [])]).campaigns
    same = estimate_change(campaign, 3, {}, hours=0.25)
    assert same.before == same.after and same.before.dials > 0
    preview = estimate_change(campaign, 3, {"mode": "preview"}, hours=0.25)
    assert preview.before == same.before
    assert preview.after.dials == 0            # in preview the operators dial by hand: the pacer places nothing


async def test_the_tuning_form_simulates_the_change_before_it_is_applied(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db, whatif_hours=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        form.query_one("#set-max_lines_per_operator", Input).value = "1.5"
        await pilot.pause()
        assert "press What if?" in str(form.query_one("#whatif", Static).content)
        await pilot.click("#whatif-run")
        await until(pilot, lambda: "occupancy" in str(form.query_one("#whatif", Static).content), timeout=30)
        shown = str(form.query_one("#whatif", Static).content)
        assert shown.startswith("what-if: 0.1 h simulated twice with 1 operator(s), answer rate 30%, talk 180 s")
        assert "abandoned" in shown and "→" in shown
    assert await db.fetchval("SELECT pacing FROM campaign WHERE id = $1", scene.campaign_id) == "{}"


async def test_a_paused_campaign_is_said_paused_and_its_operators_stay_in_view(
        db: asyncpg.Pool, scene: Scene) -> None:
    """Pausing from the view took the campaign out of the engine's snapshot: the title then said it ran on
    no engine and the operators, still logged in and finishing their calls, vanished from the table."""
    await db.execute("UPDATE campaign SET state = 'paused' WHERE id = $1", scene.campaign_id)
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([], [operator_doc(scene)]))
        await until(pilot, lambda: text(app, "#title").startswith("campaign 'winter' is paused"))
        await until(pilot, lambda: app.query_one("#operators", DataTable).row_count == 1)
        await db.execute("UPDATE campaign SET state = 'running' WHERE id = $1", scene.campaign_id)
        await publish(db, snapshot([], [operator_doc(scene, "ready")]))   # the next second's snapshot
        await until(pilot, lambda: "is running, but no engine has it" in text(app, "#title"))


async def test_the_since_start_figures_read_as_a_funnel_and_say_what_abandoned_counts(
        db: asyncpg.Pool, scene: Scene) -> None:
    """The store's JSON sorts keys, so the line read "answered 120, abandoned 2, connected 118, originated 300";
    and nothing said that an answer counts in the abandonment figures once put through or lost, not at its end."""
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        await until(pilot, lambda: app.campaign is not None)
        await pilot.pause()
        pacing = text(app, "#pacing")
        assert "since start: originated 300, answered 120, connected 118, abandoned 2" in pacing
        assert "live answers" in pacing and "put through" in pacing


async def test_the_title_is_drawn_again_only_when_it_changes(db: asyncpg.Pool, scene: Scene,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """It is looked at every second (for an engine gone silent); a still floor costs no repaint."""
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        await until(pilot, lambda: app.campaign is not None)
        title = app.screen_stack[0].query_one("#title", Static)
        drawn: list[object] = []
        monkeypatch.setattr(title, "update", lambda content="": drawn.append(content))
        for _ in range(3):
            app._render_title()
        assert drawn == []
        app.clock.moment += timedelta(seconds=30)    # type: ignore[attr-defined]  (the engine fell silent)
        app._render_title()
        assert len(drawn) == 1 and "STALE" in str(drawn[0])


@contextlib.asynccontextmanager
async def picture_three_seconds_late(db: asyncpg.Pool, scene: Scene) -> AsyncIterator[tuple[WatchApp, Pilot[None]]]:
    """The watch on the engine's picture, 3 s after it was written."""
    clock = FixedClock()
    app = WatchApp(db, clock, campaign="winter")
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: app.campaign is not None)
        clock.moment = NOW + timedelta(seconds=3)
        yield app, pilot


async def test_a_killed_engine_is_said_gone_as_soon_as_its_picture_is_late(db: asyncpg.Pool, scene: Scene) -> None:
    """Seen by hand: after `kill -9` the watch said nothing for 5 s, then only "is the engine running?". An
    engine killed, crashed or cut off from the store holds its name no more: 3 s of silence are enough."""
    async with picture_three_seconds_late(db, scene) as (app, pilot):
        await until(pilot, lambda: "no session with the store" in text(app, "#title"))
        assert "engine-test" in text(app, "#title") and "killed" in text(app, "#title")


async def test_a_late_picture_of_an_engine_still_holding_its_name_is_not_said_gone(
        db: asyncpg.Pool, scene: Scene) -> None:
    from dialer.store import engines
    async with db.acquire() as conn:
        assert await engines.hold_name(conn, "engine-test")      # the engine's session lives
        try:
            async with picture_three_seconds_late(db, scene) as (app, pilot):
                await pilot.pause(1.5)
                assert "no session" not in text(app, "#title") and "STALE" not in text(app, "#title")
        finally:
            await conn.execute("SELECT pg_advisory_unlock_all()")
