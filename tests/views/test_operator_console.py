"""The operator console, headless: snapshots go in through the real store (upsert + NOTIFY), and what the
operator does comes out as operator_command rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from textual.widgets import Button, Input, Select, Static

from dialer import script as call_script
from dialer.views.console.status_bar import StatusBar
from dialer.views.operator_console import OperatorConsole, find_operator
from lists import scripts
from lists.dispositions import DEFAULT_CATALOGUE
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

pytestmark = pytest.mark.db

SIZE = (200, 60)
NOBODY = "no engine runs campaign winter"   # no `dialer run` yet, or it stopped: nobody reads a command
SCRIPT = call_script.parse({
    "title": "Winter offer",
    "start": "greet",
    "steps": {
        "greet": {"text": "Good morning, {first_name}! This is {operator}.",
                  "answers": [{"label": "Listening", "next": "offer"},
                              {"label": "Busy", "next": "later", "disposition": "callback"}]},
        "offer": {"text": "Heating in {city} for less. Where do we send it?",
                  "fields": [{"name": "email", "label": "E-mail", "required": True}],
                  "answers": [{"label": "Send it", "next": "bye", "disposition": "information_sent"}]},
        "later": {"text": "When may we call back?"},
        "bye": {"text": "We sent it to {email}. Goodbye, {first_name}!"},
    },
})


def text(app: OperatorConsole, selector: str) -> str:
    """What a part of the screen says (the status bar renders itself; the rest are Statics)."""
    widget = app.query_one(selector)
    return widget.line() if isinstance(widget, StatusBar) else str(app.query_one(selector, Static).content)


async def console(db: asyncpg.Pool) -> OperatorConsole:
    return OperatorConsole(db, await find_operator(db, "Anna"), FixedClock())


async def test_on_connect_the_console_shows_state_and_the_customer_card(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        assert "LOGGED OUT" in text(app, "#status")
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        assert "ON CALL 0 min  calls 14  talk 40 min" in text(app, "#status")   # minutes: no repaint each second
        assert "city: Omsk" in text(app, "#card")
        assert "+79161234567" in text(app, "#card")
        history = text(app, "#history")
        assert "asked to call after payday" in history and "callback" in history and "by Anna" in history


async def test_the_script_is_filled_with_the_customer_and_follows_the_answers(
        db: asyncpg.Pool, scene: Scene) -> None:
    await scripts.store_script(db, "winter", SCRIPT.to_document())
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: "Ivan" in text(app, "#script-text"))
        assert text(app, "#script-text") == "Good morning, Ivan! This is Anna."
        assert [str(b.label) for b in app.query("#answers Button").results(Button)] == ["1 Listening", "2 Busy"]
        app.set_focus(None)
        await pilot.press("1")                   # answers by number, no mouse needed
        await pilot.pause()
        assert text(app, "#script-text") == "Heating in Omsk for less. Where do we send it?"
        await pilot.click("#answer-0")          # the e-mail is required before moving on
        await pilot.pause()
        assert "fill in email first" in text(app, "#message")
        assert "Heating in Omsk" in text(app, "#script-text")
        await type_into(pilot, "#field-email", "ivan@example.org")
        await pilot.click("#answer-0")
        await pilot.pause()
        assert text(app, "#script-text") == "We sent it to ivan@example.org. Goodbye, Ivan!"
        assert app.query_one("#disposition", Select).value == "information_sent"   # suggested by the answer
        assert text(app, "#disposition-effect") == "follow-up call in 3 days (or at the time below)"
        await pilot.click("#script-back")
        await pilot.pause()
        assert "Heating in Omsk" in text(app, "#script-text")


async def test_a_disposition_with_a_callback_on_another_number_becomes_one_command(
        db: asyncpg.Pool, scene: Scene) -> None:
    await scripts.store_script(db, "winter", SCRIPT.to_document())
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "Good morning" in text(app, "#script-text"))
        await pilot.click("#answer-1")           # "Busy": suggests the callback code
        app.query_one("#callback-scope", Select).value = "anyone"
        for selector, typed in (("#notes", "wants a cheaper tariff"), ("#callback-at", "2026-11-28 18:30"),
                                ("#callback-phone", "+79160000001")):
            await type_into(pilot, selector, typed)
        await pilot.click("#save")
        await pilot.pause()
        assert "disposition callback sent" in text(app, "#message")
    [(command, args, actor)] = await commands(db)
    assert (command, actor) == ("disposition", "operator:Anna")
    assert args["attempt_id"] == scene.attempt_id and args["code"] == "callback"
    assert args["notes"] == "wants a cheaper tariff"
    # typed in the campaign's time zone (Moscow, UTC+3)
    assert datetime.fromisoformat(args["callback_at"]) == datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
    assert args["callback_scope"] == "anyone" and args["callback_phone"] == "+79160000001"
    assert args["script_answers"] == {"path": [{"step": "greet", "answer": "Busy"}], "fields": {}}


async def test_a_callback_code_without_a_time_is_not_sent(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        app.query_one("#disposition", Select).value = "callback"
        await pilot.click("#save")
        await pilot.pause()
        assert "give the callback date and time" in text(app, "#message")
    assert await commands(db) == []


async def test_without_a_campaign_catalogue_the_default_dispositions_are_offered(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        offered = [value for _, value in app.query_one("#disposition", Select)._options if value is not Select.NULL]
        assert offered == [d.code for d in DEFAULT_CATALOGUE]        # the codes the engine will accept
        assert {"sale", "information_sent", "callback", "not_interested", "not_our_audience",
                "no_decision"} <= set(offered)
        assert "no call script" in text(app, "#script-text")


async def test_the_campaign_catalogue_replaces_the_default(db: asyncpg.Pool, scene: Scene) -> None:
    await db.execute("INSERT INTO disposition (campaign_id, code, label, final) VALUES ($1, 'deal', 'Deal', true)",
                       scene.campaign_id)
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        offered = [value for _, value in app.query_one("#disposition", Select)._options if value is not Select.NULL]
        assert offered == ["deal"]


async def test_login_ready_pause_with_reason_manual_dial_and_logout_become_commands(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")                  # log in: the engine calls the operator's phone
        await pilot.click("#pause")
        await pilot.pause()
        assert "say why you pause" in text(app, "#message")
        await type_into(pilot, "#pause-reason", "lunch")
        await pilot.click("#pause")
        await pilot.click("#ready")
        await type_into(pilot, "#dial-phone", "+74951234567")
        await pilot.click("#dial")
        await pilot.pause()
        assert app.query_one("#dial-phone", Input).value == ""
        await pilot.press("f10")
        await pilot.pause()
    assert [(c, a) for c, a, _ in await commands(db)] == [
        ("login", {}),
        ("pause", {"reason": "lunch"}),
        ("ready", {}),
        ("dial", {"phone": "+74951234567", "campaign_id": scene.campaign_id}),
        ("logout", {}),
    ]


async def test_a_refused_command_shows_the_engines_reason(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")    # Ready
        await pilot.pause()
        await db.execute("UPDATE operator_command SET done_at = $1, result = 'cannot be ready while on_call'",
                           datetime(2026, 11, 27, 9, 15, 1, tzinfo=UTC))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene)]))
        await until(pilot, lambda: "refused" in text(app, "#message"))
        assert text(app, "#message") == "ready refused: cannot be ready while on_call"


async def test_ready_pressed_in_the_wrap_up_is_confirmed_when_the_engine_has_done_it(
        db: asyncpg.Pool, scene: Scene) -> None:
    """Seen at the console: "ready sent" stayed on screen after the engine had made the operator ready, as if
    still waiting; a done command now says so where it said sent (a refusal already did)."""
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "WRAP UP" in text(app, "#status"))
        await pilot.press("f2")
        await until(pilot, lambda: text(app, "#message") == "ready sent")
        await db.execute("UPDATE operator_command SET done_at = $1", datetime(2026, 11, 27, 9, 15, 1, tzinfo=UTC))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: text(app, "#message") == "ready done")
        assert "READY" in text(app, "#status")


async def test_a_key_pressed_while_the_store_is_unreachable_is_said_not_sent_and_the_console_lives(
        db: asyncpg.Pool, scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen by hand in `dialer watch` (the same path): a key pressed while the store was down ended the whole
    view with a traceback. The console looks at the store every second too (whether an engine runs)."""
    from dialer.store import operator_commands
    from dialer.views import customer

    async def unreachable(*_: object, **__: object) -> None:
        raise ConnectionRefusedError(111, "Connect call failed")

    clock = FixedClock()
    app = OperatorConsole(db, await find_operator(db, "Anna"), clock)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: "READY" in text(app, "#status"))
        monkeypatch.setattr(operator_commands, "send", unreachable)
        monkeypatch.setattr(customer, "campaign_states", unreachable)
        await pilot.press("f2")
        await until(pilot, lambda: "not sent" in text(app, "#message"))
        assert "store is unreachable" in text(app, "#message")
        clock.moment = NOW + timedelta(seconds=12)        # the picture grows old: who runs the campaign is read
        await pilot.pause(1.5)
        assert app.is_running
        monkeypatch.undo()
        await until(pilot, lambda: NOBODY in text(app, "#status"))


async def test_after_the_disposition_the_card_clears_when_the_engine_frees_the_operator(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        app.query_one("#disposition", Select).value = "sale"
        await pilot.click("#save")
        await pilot.pause()
        assert "Ivan" in text(app, "#card")        # still wrap-up in the last snapshot
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: text(app, "#card") == "No call.")
        assert "READY" in text(app, "#status")


async def test_a_refused_disposition_comes_back_on_screen_to_be_corrected(db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        app.query_one("#disposition", Select).value = "callback"
        await type_into(pilot, "#callback-at", "2026-11-28 18:30")
        await type_into(pilot, "#callback-phone", "12")
        await pilot.click("#save")
        await pilot.pause()
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)]))
        await until(pilot, lambda: text(app, "#card") == "No call.")
        await db.execute("UPDATE operator_command SET done_at = $1, result = 'callback number ''12'': too short'",
                           datetime(2026, 11, 27, 9, 15, 1, tzinfo=UTC))
        # the engine's next snapshot (a second later: the feed hands the views only a changed one)
        later = snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False)])
        later["at"] = (NOW + timedelta(seconds=1)).isoformat()
        await publish(db, later)
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        assert text(app, "#message") == "disposition refused: callback number '12': too short"
        assert app.query_one("#disposition", Select).value == "callback"
        assert app.query_one("#callback-at", Input).value == "2026-11-28 18:30"
        assert app.query_one("#callback-phone", Input).value == "12"
        assert not app.query_one("#save", Button).disabled


async def test_the_console_says_why_the_engine_logged_the_operator_out_and_when_the_phone_dropped(
        db: asyncpg.Pool, scene: Scene) -> None:
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, phone_up=False)]))
        await until(pilot, lambda: "your phone dropped" in text(app, "#status"))
        why = "your phone hung up and did not answer when called back"
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "logged_out", attempt=False,
                                                                          phone_up=False, logged_out_why=why)]))
        await until(pilot, lambda: why in text(app, "#message"))
        assert text(app, "#message") == f"logged out by the engine: {why}"
        assert "LOGGED OUT" in text(app, "#status")
        assert "Ivan" in text(app, "#card")         # the call's card stays for its disposition


async def test_a_call_that_ends_before_it_connects_leaves_the_screen_and_says_so(
        db: asyncpg.Pool, scene: Scene) -> None:
    """A manual call nobody answers (or a callee gone during the hand-off) gives the operator back without a
    wrap-up: its card must not stay on screen asking for a disposition of a call that never was."""
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "reserved")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "paused", attempt=False)]))
        await until(pilot, lambda: "PAUSED" in text(app, "#status"))
        await until(pilot, lambda: text(app, "#card") == "No call.")
        assert text(app, "#message") == "the call to +79161234567 ended before it connected"


async def test_the_console_says_when_the_wrap_up_time_ran_out_before_a_code(db: asyncpg.Pool, scene: Scene) -> None:
    """The engine ended the wrap-up by its timer: the operator, now ready, is told the call was recorded
    with no code, and the card stays on screen to choose it."""
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False,
                                                                          wrap_up_ran_out=scene.attempt_id)]))
        await until(pilot, lambda: "before a code" in text(app, "#message"))
        assert "no code" in text(app, "#message") and "Ctrl+S" in text(app, "#message")
        assert "Ivan" in text(app, "#card")
        # an engine's stop ends a wrap-up the same way (seen by hand: the message named the time and Ready only)
        assert "the engine stopped" in text(app, "#message")


async def test_a_new_call_over_a_call_left_without_a_code_says_who_sets_it_now(db: asyncpg.Pool, scene: Scene) -> None:
    """The wrap-up ran out, and the next call took the card's place: the message still said "choose its code
    (F6) and save it (Ctrl+S)", which would now code the new call."""
    app = await console(db)
    earlier = scene.earlier_attempt_id
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up", attempt_id=earlier)]))
        await until(pilot, lambda: app.call is not None and app.call.attempt_id == earlier)
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready", attempt=False,
                                                                          wrap_up_ran_out=earlier)]))
        await until(pilot, lambda: "Ctrl+S" in text(app, "#message"))
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call", wrap_up_ran_out=earlier)]))
        await until(pilot, lambda: app.call is not None and app.call.attempt_id == scene.attempt_id)
        await until(pilot, lambda: f"dialer lists dispose {earlier}" in text(app, "#message"))
        assert "Ctrl+S" not in text(app, "#message")


async def test_a_disposition_saved_during_the_call_keeps_the_card_until_the_call_ends(
        db: asyncpg.Pool, scene: Scene) -> None:
    """Seen by hand: an operator who coded the call while still talking lost the customer's card and script
    as soon as the engine confirmed the code, though the customer was still on the line."""
    await scripts.store_script(db, "winter", SCRIPT.to_document())
    app = await console(db)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        await until(pilot, lambda: "Ivan" in text(app, "#card"))
        app.query_one("#disposition", Select).value = "sale"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "disposition sale sent" in text(app, "#message"))
        await db.execute("UPDATE operator_command SET done_at = $1", NOW + timedelta(seconds=1))
        still_talking = snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")])
        still_talking["at"] = (NOW + timedelta(seconds=1)).isoformat()
        await publish(db, still_talking)
        await until(pilot, lambda: not app.sent)          # the engine's result is read
        assert text(app, "#message") == "disposition sale done"     # it said "sent" for good
        assert "Ivan" in text(app, "#card")
        assert "Good morning, Ivan" in text(app, "#script-text")
        assert app.query_one("#save", Button).disabled    # coded once: not sent twice
        hung_up = snapshot([campaign_doc(scene)], [operator_doc(scene, "wrap_up")])
        hung_up["at"] = (NOW + timedelta(seconds=2)).isoformat()
        await publish(db, hung_up)
        await until(pilot, lambda: "WRAP UP" in text(app, "#status"))
        await until(pilot, lambda: text(app, "#card") == "No call.")    # coded and over: F2 when done
