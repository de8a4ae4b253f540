"""The operator console from the keyboard: a key for every action, a visible focus, F3 to the pause reason,
digits for the script only outside the boxes, no logout before the wrap-up's code, a clean screen after
logging back in, and a paused campaign said on the status line."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from textual.widgets import Button, Input, Select

from dialer.views.console.controls import ACTIONS
from dialer.views.console.second_press import CONFIRM_S
from dialer.views.console.status_bar import StatusBar
from dialer.views.operator_console import OperatorConsole, find_operator
from lists import scripts
from tests.views.conftest import (
    FixedClock,
    Scene,
    campaign_doc,
    commands,
    operator_doc,
    publish,
    snapshot,
    until,
)
from tests.views.test_operator_console import SCRIPT, text

pytestmark = pytest.mark.db

SIZE = (160, 48)


async def console(db: asyncpg.Pool) -> OperatorConsole:
    return OperatorConsole(db, await find_operator(db, "Anna"), FixedClock())


def status(app: OperatorConsole) -> str:
    return app.query_one(StatusBar).line()


def border(app: OperatorConsole, selector: str) -> str:
    widget = app.query_one(selector)
    if isinstance(widget, Select):
        widget = widget.query_one("SelectCurrent")
    return widget.styles.border.top[0]


async def on_a_call(db: asyncpg.Pool, scene: Scene, app: OperatorConsole, pilot: object,
                    state: str = "on_call") -> None:
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, state)]))
    await until(pilot, lambda: "Good morning" in text(app, "#script-text"))   # type: ignore[arg-type]


async def test_every_action_has_its_key_on_screen_and_tab_walks_only_the_boxes(
        db: asyncpg.Pool, scene: Scene) -> None:
    await scripts.store_script(db, "winter", SCRIPT.to_document())
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_a_call(db, scene, app, pilot)
        for key, label, action in ACTIONS:
            assert str(app.query_one(f"#{action}", Button).label) == f"{key.upper()} {label}"
        assert str(app.query_one("#save", Button).label) == "Ctrl+S Save"
        assert str(app.query_one("#script-back", Button).label) == "F7 Back"
        assert [str(b.label) for b in app.query("#answers Button").results(Button)] == ["1 Listening", "2 Busy"]
        bound = {b.key for b in app.BINDINGS if not isinstance(b, tuple)}   # type: ignore[union-attr]
        assert {"f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "ctrl+s"} <= bound
        seen = []
        for _ in range(12):
            await pilot.press("tab")
            seen.append(app.focused)
        assert not any(isinstance(w, Button) for w in seen)          # Enter never lands on a button
        assert {w.id for w in seen if w is not None} == {
            "disposition", "notes", "callback-at", "callback-scope", "callback-phone", "pause-reason",
            "dial-phone", "dial-campaign"}
        await pilot.press("f6")                                       # one key to the disposition
        assert app.focused is app.query_one("#disposition", Select)


async def test_the_focused_box_and_its_pane_are_framed_differently_not_only_coloured(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#notes")
        await pilot.pause()
        assert border(app, "#notes") == "double" and border(app, "#callback-at") != "double"
        assert border(app, "#disposition-pane") == "heavy" and border(app, "#script-pane") == "round"
        await pilot.press("f6")
        await pilot.pause()
        assert border(app, "#disposition") == "double" and border(app, "#notes") != "double"
        await pilot.press("f3")
        await pilot.pause()
        assert border(app, "#pause-reason") == "double" and border(app, "#disposition-pane") == "round"


async def test_f3_goes_to_the_reason_box_and_enter_there_pauses(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert app.focused is app.query_one("#pause-reason", Input)
        assert "say why you pause" in text(app, "#message")
        assert await commands(db) == []
        await pilot.press(*"lunch", "enter")
        await until(pilot, lambda: "pause sent" in text(app, "#message"))
        assert app.query_one("#pause-reason", Input).value == ""
        await pilot.press(*"training", "f3")                       # F3 with a reason pauses too
        await until(pilot, lambda: app.query_one("#pause-reason", Input).value == "")
        await pilot.press("f4")
        assert app.focused is app.query_one("#dial-phone", Input)
        await pilot.press(*"+74951234567", "enter")
        await until(pilot, lambda: app.query_one("#dial-phone", Input).value == "")
    assert [(c, a) for c, a, _ in await commands(db)] == [
        ("pause", {"reason": "lunch"}), ("pause", {"reason": "training"}),
        ("dial", {"phone": "+74951234567", "campaign_id": scene.campaign_id})]


async def test_digits_answer_the_script_only_outside_the_boxes_and_lists(db: asyncpg.Pool, scene: Scene) -> None:
    await scripts.store_script(db, "winter", SCRIPT.to_document())
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await on_a_call(db, scene, app, pilot)
        await pilot.click("#notes")
        await pilot.press("1")                            # typed into the notes
        await pilot.pause()
        assert app.query_one("#notes", Input).value == "1"
        assert "Good morning" in text(app, "#script-text")
        await pilot.press("f6", "2")                      # on the disposition list: not a script answer
        await pilot.pause()
        assert "Good morning" in text(app, "#script-text")
        await pilot.press("escape")                       # out of the list: digits answer again
        await pilot.click("#ready")                       # a button takes no focus
        assert app.focused is None
        await pilot.press("1")
        await until(pilot, lambda: "Heating in Omsk" in text(app, "#script-text"))
        await pilot.press("f7")                           # back
        await until(pilot, lambda: "Good morning" in text(app, "#script-text"))


async def test_log_out_is_refused_in_the_wrap_up_until_the_disposition_is_saved(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await pilot.press("f10")
        await pilot.pause()
        assert "save the disposition first" in text(app, "#message")
        assert await commands(db) == []
        app.query_one("#disposition", Select).value = "sale"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "disposition sale sent" in text(app, "#message"))
        await pilot.press("f10")
        await until(pilot, lambda: "logout sent" in text(app, "#message"))
    assert [c for c, _, _ in await commands(db)] == ["disposition", "logout"]


@pytest.mark.parametrize("state", ["on_call", "reserved"])
async def test_log_out_during_a_call_asks_first_and_a_second_f10_hangs_the_customer_up(
        db: asyncpg.Pool, scene: Scene, state: str) -> None:
    """F10 sits beside F8/F9: one press by mistake mid-conversation hung the customer up at once."""
    clock = FixedClock()
    app = OperatorConsole(db, await find_operator(db, "Anna"), clock)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, state)]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await pilot.press("f10")
        await pilot.pause()
        assert "F10 again" in text(app, "#message") and "hangs the customer up" in text(app, "#message")
        assert await commands(db) == []
        clock.moment += timedelta(seconds=CONFIRM_S + 1)     # too late: the question is asked again
        await pilot.press("f10")
        await pilot.pause()
        assert await commands(db) == []
        await pilot.press("f10")
        await until(pilot, lambda: "logout sent" in text(app, "#message"))
    assert [c for c, _, _ in await commands(db)] == ["logout"]


async def test_log_out_without_a_call_needs_one_key(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "READY" in status(app))
        await pilot.press("f10")
        await until(pilot, lambda: "logout sent" in text(app, "#message"))
    assert [c for c, _, _ in await commands(db)] == ["logout"]


async def test_logging_back_in_clears_the_last_customer(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        # the phone dropped mid-call: the engine logged Anna out, the card stays for its code
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "logged_out", attempt=False,
                                                                          logged_out_why="phone gone")]))
        await until(pilot, lambda: "LOGGED OUT" in status(app))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "logged_out", attempt=False,
                                                                          since_s=1.0)]))
        await until(pilot, lambda: "LOGGED OUT" in status(app))
        assert "Ivan" in text(app, "#card")
        await pilot.press("f5")                        # the card has no code yet: said once
        await pilot.pause()
        assert "has no disposition" in text(app, "#message") and await commands(db) == []
        await pilot.press("f5")
        await until(pilot, lambda: text(app, "#card") == "No call.")
        assert text(app, "#script-text") == ""
        assert [c for c, _, _ in await commands(db)] == ["login"]


async def test_a_card_left_on_screen_clears_when_the_engine_logs_the_operator_back_in(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "logged_out", attempt=False)]))
        await until(pilot, lambda: "LOGGED OUT" in status(app))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: text(app, "#card") == "No call.")


async def test_a_paused_campaign_shows_on_the_status_line(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "READY" in status(app))
        assert "paused" not in status(app)
        # a manager pauses it: the engine stops running it, so it leaves the snapshot
        await db.execute("UPDATE campaign SET state = 'paused' WHERE id = $1", scene.campaign_id)
        await publish(db, snapshot([], [operator_doc(scene, "ready", attempt=False, since_s=43.0)]))
        await until(pilot, lambda: "campaign winter paused" in status(app))
        await db.execute("UPDATE campaign SET state = 'running' WHERE id = $1", scene.campaign_id)
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "paused" not in status(app))


async def test_a_wrap_up_without_its_lead_in_the_snapshot_still_shows_the_call(
        db: asyncpg.Pool, scene: Scene) -> None:
    """An engine that does not say the wrap-up's lead: the console finds it through the attempt."""
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        doc = operator_doc(scene, "wrap_up") | {"lead_id": None}
        await publish(db, snapshot([campaign_doc(scene)], [doc]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        assert not app.query_one("#save", Button).disabled


async def test_paused_from_the_wrap_up_log_out_still_waits_for_the_code_and_saving_clears_the_card(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "paused", pause_reason="coffee")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await pilot.press("f10")
        await pilot.pause()
        assert "save the disposition first" in text(app, "#message") and await commands(db) == []
        app.query_one("#disposition", Select).value = "sale"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "disposition sale sent" in text(app, "#message"))
        assert app.focused is None                        # the next call's digits answer its script
        # the engine accepts it; the operator stays paused with the attempt: the card goes all the same
        await db.execute("UPDATE operator_command SET done_at = now()")
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "paused", pause_reason="coffee",
                                                                          since_s=43.0)]))
        await until(pilot, lambda: text(app, "#card") == "No call.")
        assert text(app, "#script-text") == ""


async def test_the_pause_reason_shows_only_while_paused(db: asyncpg.Pool, scene: Scene) -> None:
    """The engine keeps the last reason after the pause ends (a logout and login do not clear it)."""
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "paused", attempt=False,
                                                                          pause_reason="lunch")]))
        await until(pilot, lambda: "PAUSED (lunch)" in status(app))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False,
                                                                          pause_reason="lunch")]))
        await until(pilot, lambda: "READY" in status(app))
        assert "lunch" not in status(app)


async def test_a_number_sent_with_enter_is_the_number_typed_even_when_typing_goes_on(
        db: asyncpg.Pool, scene: Scene) -> None:
    """Enter in the number box ran the dial later, reading the box then: keys typed meanwhile (a second number,
    fast hands, a pasted line) were read with it, and the number typed first was never sent."""
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one("#dial-phone", Input)
        await pilot.press("f4", *"+74951234567")
        # Enter, and the next keys reach the box before the dial's worker starts (as from a terminal's burst)
        app.on_input_submitted(Input.Submitted(box, box.value))
        box.value += "+7495"
        await until(pilot, lambda: "dial sent" in text(app, "#message"))
        await pilot.pause()
        assert box.value == "+7495"       # what was typed after stays for the next dial
    assert [(c, a) for c, a, _ in await commands(db)] == [
        ("dial", {"phone": "+74951234567", "campaign_id": scene.campaign_id})]


async def test_a_pause_reason_sent_with_enter_is_the_reason_typed_even_when_typing_goes_on(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one("#pause-reason", Input)
        await pilot.press("f3", *"lunch")
        app.on_input_submitted(Input.Submitted(box, box.value))
        box.value += "tra"
        await until(pilot, lambda: "pause sent" in text(app, "#message"))
        await pilot.pause()
        assert box.value == "tra"
    assert [(c, a) for c, a, _ in await commands(db)] == [("pause", {"reason": "lunch"})]
