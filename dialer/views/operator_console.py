"""``dialer operator --name NAME``: the console of one operator.

It renders the operator's entry of the engine's snapshot (state and timer) and, when that entry carries
an attempt, the customer card and the campaign's call script filled with the customer's data. Every action
becomes an ``operator_command`` row; the console never changes a lead or an attempt itself, so a
simulated operator and a person at this console go through the same engine path.

The screen is made of widgets (``dialer/views/console/``) that hold their data in reactive attributes;
snapshots arrive as ``FloorChanged`` messages and this app sets those attributes. Every action has a key
(F-keys, Ctrl+S, 1–9) shown on its button and in the footer; buttons stay out of the Tab chain.
"""

from __future__ import annotations

from typing import Any, ClassVar

import asyncpg
from rich.text import Text
from textual.app import App, ComposeResult, ScreenStackError
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.dom import NoScreen
from textual.widgets import Footer, Input, Select, Static

from dialer import script as call_script
from dialer.clock import Clock
from dialer.views import customer
from dialer.views.console import call as on_screen
from dialer.views.console.call import CallOnScreen, CardStages, FloorChanged, Notice, Suggested, never_connected
from dialer.views.console.card import CardPanel
from dialer.views.console.controls import ACTIONS, ControlBar
from dialer.views.console.disposition_form import DispositionForm, FormError
from dialer.views.console.engines import CampaignEngines
from dialer.views.console.operator import ConsoleError, OperatorIdentity, find_operator
from dialer.views.console.script_panel import ScriptPanel
from dialer.views.console.second_press import CONFIRM_S, SecondPress
from dialer.views.console.status_bar import StatusBar
from dialer.views.feed import CommandError, PictureFeed, command_results, send_command
from dialer.views.listener import SharedListener
from dialer.views.picture import FloorPicture, OperatorRow
from people.rights import Person

__all__ = ["CallOnScreen", "ConsoleError", "OperatorConsole", "OperatorIdentity", "find_operator"]

PICTURE_EVERY_S = 3.0   # campaigns, PBX links, the engine alive; the operator's own news comes at once
LOGGED_IN = ("logging_in", "logged_in", "ready", "reserved", "on_call", "wrap_up", "paused")


class OperatorConsole(App[None]):
    TITLE = "dialer operator"
    AUTO_FOCUS = None    # nothing focused at start: the digits answer the script until a box is entered
    CSS = """
    #main { height: 1fr; }
    #card-pane, #script-pane, #disposition-pane { width: 1fr; border: round $secondary; padding: 0 1; }
    /* where the keys go: the focused pane gets a heavy frame, the focused box a double one (a shape too) */
    #card-pane:focus-within, #script-pane:focus-within, #disposition-pane:focus-within { border: heavy $accent; }
    Input, Select > SelectCurrent { border: tall $panel-lighten-2; }
    Input:focus, Select:focus > SelectCurrent { border: double $accent; }
    #answers, #fields { height: auto; }
    #disposition-effect { color: $text-muted; height: auto; }
    #message { height: 1; color: $warning; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, action, label) for key, label, action in ACTIONS),
        Binding("f6", "disposition", "Disposition"),
        Binding("f7", "back", "Script back"),
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "leave", "Leave box"),
        # answers by number, so an operator can follow the script without the mouse (labels say 1–9)
        *(Binding(str(n), f"answer({n - 1})", f"answer {n}", show=False) for n in range(1, 10)),
    ]

    def __init__(self, db: asyncpg.Pool, operator: OperatorIdentity, clock: Clock, *,
                 listen: bool = True, person: Person | None = None, listener: SharedListener | None = None) -> None:
        super().__init__()
        self.db = db
        self.operator = operator
        self.person = person                      # who logged in (dialer serve); the engine checks their rights
        self.clock = clock
        self.me: OperatorRow | None = None
        self.call: CallOnScreen | None = None
        self.sent: list[int] = []                 # command ids whose result is not yet known
        self._disposed: set[int] = set()          # attempts whose disposition was sent
        self._pending_dispositions: dict[int, tuple[CallOnScreen, dict[str, Any]]] = {}   # by command id
        self._floor: FloorPicture | None = None      # the last picture: its engines go silent without news
        self._engines = CampaignEngines(db, operator.campaigns)   # who is there to carry out the commands
        self._login_warned = False
        self._said = ""                           # the message line's text
        self._sent_said: dict[int, str] = {}      # by command id: what the line said when it was sent
        self._status: StatusBar | None = None     # once mounted
        self._logout_press = SecondPress()       # during a call, F10 asks before it hangs the customer up
        self.card_trace = CardStages()            # where a card's time goes (dialer serve, traced)
        self._feed = PictureFeed(db, self._floor_from_feed, self._feed_error, operator_id=operator.id,
                                 listener=listener, picture_every_s=PICTURE_EVERY_S) if listen else None

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(f"{self.operator.name} (ext {self.operator.extension})", self.clock, id="status")
        with Horizontal(id="main"):
            yield CardPanel(id="card-pane")
            yield ScriptPanel(self.operator.name, id="script-pane")
            yield DispositionForm(id="disposition-pane")
        yield ControlBar(self.operator.campaigns, id="controls")
        yield Static("", id="message")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self._status = self.query_one(StatusBar)
        self.query_one("#card-pane").border_title = "Customer"
        self.query_one("#script-pane").border_title = "Script (1–9 answer, F7 back)"
        self.query_one("#disposition-pane").border_title = "Disposition (F6, Ctrl+S save)"
        self.set_interval(1.0, self._look_at_engines)
        if self._feed is not None:
            await self._feed.start()

    async def on_unmount(self) -> None:
        if self._feed is not None:
            await self._feed.stop()

    # ---- snapshots in -------------------------------------------------------------------------

    def _floor_from_feed(self, floor: FloorPicture) -> None:
        self.card_trace.news()
        self.post_message(FloorChanged(floor))

    def _feed_error(self, message: str) -> None:
        self.say(message)

    async def on_floor_changed(self, message: FloorChanged) -> None:
        if not self._showing():
            return
        was = self.me
        me = self.me = next((o for o in message.floor.operators if o.id == self.operator.id), None)
        why = me.logged_out_why if me is not None and me.state == "logged_out" else None
        if why and (was is None or was.logged_out_why != why):
            self.say(f"logged out by the engine: {why}")     # the full sentence: the status line is short
        ran_out = me.wrap_up_ran_out if me is not None else None
        if ran_out is not None and (was is None or was.wrap_up_ran_out != ran_out):
            shown = self._unsaved() and self.call is not None and self.call.attempt_id == ran_out
            self.say(on_screen.ran_out_text(ran_out, shown))
        self.query_one(StatusBar).show(me, message.floor)
        self._floor = message.floor
        await self._look_at_engines()
        came_in = me is not None and me.state in LOGGED_IN and (was is None or was.state not in LOGGED_IN)
        if came_in and self.call is not None and me is not None and me.attempt_id != self.call.attempt_id:
            await self._clear_call()     # logged back in: the last customer's card is not this session's
        if me is not None and me.attempt_id is not None and me.attempt_id not in self._disposed \
                and (self.call is None or self.call.attempt_id != me.attempt_id):
            left = self.call if self._unsaved() else None     # the new call takes its card's place
            self.card_trace.reading(me.attempt_id)
            await self._show_call(me.attempt_id, me.lead_id)
            if left is not None:
                self.say(f"the call to {left.card.phone} was left without a code: a manager sets it with "
                         f"`dialer lists dispose {left.attempt_id} CODE`")
        elif self.call is not None and self.call.attempt_id in self._disposed and not on_screen.talking(self.call, me) \
                and (me is None or me.attempt_id != self.call.attempt_id or self.call not in self._awaited()):
            await self._clear_call()     # coded, and the customer is gone (a code saved mid-call: at hang-up)
        elif (phone := never_connected(self.call, was, me)) is not None:
            self.say(f"the call to {phone} ended before it connected")
            await self._clear_call()
        if self.sent:
            await self._check_results()
        self._hurry()

    async def _look_at_engines(self) -> None:
        """On each picture, and each second (an engine that stops writes no more pictures)."""
        if self._floor is not None and await self._engines.seen(self._floor, self.clock.now()) and self._showing():
            status = self.query_one(StatusBar)
            status.paused, status.unrun = self._engines.paused(), self._engines.unrun()

    async def _check_results(self) -> None:
        for result in await command_results(self.db, self.sent):
            if not result.done:
                continue
            self.sent.remove(result.id)
            pending = self._pending_dispositions.pop(result.id, None)
            said = self._sent_said.pop(result.id, None)
            if result.refused:
                if pending is not None:
                    await self._restore(*pending)
                self.say(f"{result.command} refused: {result.refused}")   # once the form is back to correct
                continue
            if pending is not None and self.call is pending[0] and not on_screen.talking(self.call, self.me):
                await self._clear_call()      # saved: the customer leaves the screen, unless still on the line
            if said is not None and self._said == said:
                self.say(said.split(" sent", 1)[0] + " done")    # where it said sent; a newer message stays

    async def _restore(self, call: CallOnScreen, args: dict[str, Any]) -> None:
        """A refused disposition (a callback number unread, a code removed) comes back on screen as sent."""
        self._disposed.discard(call.attempt_id)
        if self.call is not None and self.call.attempt_id != call.attempt_id:
            return   # another call is on screen now; the refusal message stays
        call.catalogue = await customer.dispositions(self.db, call.card.campaign_id)   # a code retired meanwhile
        await self._put_call(call)
        self.query_one(DispositionForm).restore(args, call.timezone)

    # ---- the call on screen -------------------------------------------------------------------

    def say(self, text: str) -> None:
        if self._showing():
            self._said = text
            self.query_one("#message", Static).update(Text(text))

    def _showing(self) -> bool:
        """The console's screen is up and not closing (asked every second: no search of the widgets)."""
        status = self._status
        try:
            return status is not None and status.is_attached and status.screen is self.screen
        except (ScreenStackError, NoScreen):
            return False

    async def _show_call(self, attempt_id: int, lead_id: int | None) -> None:
        # one connection for the reads (each read from the pool would add the pool's reset round trip)
        async with self.db.acquire() as conn:
            if lead_id is None:   # an engine that does not say the wrap-up's lead: the attempt knows it
                lead_id = await customer.lead_of(conn, attempt_id)
            card = await customer.customer_card(conn, lead_id, attempt_id) if lead_id is not None else None
            if card is None:
                self.say(f"the lead of attempt {attempt_id} is not in the store")
                return
            try:
                script = await customer.campaign_script(conn, card.campaign_id)
            except call_script.ScriptError as exc:
                script = None
                self.say(f"the campaign's script is broken: {exc}")
            catalogue = await customer.dispositions(conn, card.campaign_id)
        timezone = next((tz for cid, _, tz in self.operator.campaigns if cid == card.campaign_id), "UTC")
        await self._put_call(CallOnScreen(attempt_id, card, script, catalogue, timezone,
                                          step_id=script.start if script else None))

    async def _put_call(self, call: CallOnScreen) -> None:
        if not self._showing():
            return   # the console closed while the call was read (a page closed, the session ending)
        self.call = call
        self._login_warned = False
        self.query_one(CardPanel).card = call.card
        form = self.query_one(DispositionForm)
        form.catalogue = call.catalogue
        form.open = True
        self.query_one(ScriptPanel).call = call
        self.card_trace.shown(call.attempt_id)
        self.call_after_refresh(self.card_trace.painted, call.attempt_id)

    async def _clear_call(self) -> None:
        if not self._showing():
            return   # the console closed while a result was read
        self.call = None
        self.query_one(CardPanel).card = None
        self.query_one(ScriptPanel).call = None
        self.query_one(DispositionForm).clear()

    def _hurry(self) -> None:
        """Every picture while a command waits for its result (the pictures bring it), else a few seconds."""
        if self._feed is not None:
            self._feed.every_s = 0.0 if self.sent else PICTURE_EVERY_S

    def _awaited(self) -> list[CallOnScreen]:
        return [call for call, _ in self._pending_dispositions.values()]   # a refusal brings them back

    def _unsaved(self) -> bool:
        """A call on screen whose disposition has not been sent."""
        return self.call is not None and self.call.attempt_id not in self._disposed

    # ---- what the widgets say -----------------------------------------------------------------

    def on_notice(self, message: Notice) -> None:
        self.say(message.text)

    def on_suggested(self, message: Suggested) -> None:
        self.query_one(DispositionForm).suggest(message.code)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # the text as submitted: keys typed before the worker runs are not part of it
        action = {"pause-reason": self.action_pause, "dial-phone": self.action_dial}.get(event.input.id or "")
        if action is not None:
            self.run_worker(action(event.value))

    # ---- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Digits are typed where one types (a box) or search a list; elsewhere they answer the script.
        if action == "answer" and isinstance(self.focused, Input | Select):
            return False
        return True

    async def action_answer(self, index: int) -> None:
        await self.query_one(ScriptPanel).answer(index)

    async def action_back(self) -> None:
        await self.query_one(ScriptPanel).back()

    def action_leave(self) -> None:
        self.set_focus(None)    # out of a box: the digits answer the script again

    def action_disposition(self) -> None:
        self.query_one("#disposition", Select).focus()

    async def _send(self, command: str, args: dict[str, Any], said: str = "") -> int | None:
        try:
            command_id = await send_command(
                self.db, operator_id=self.operator.id, command=command, args=args, now=self.clock.now(),
                actor=self.person.actor if self.person else f"operator:{self.operator.name}",
                person_id=self.person.id if self.person else None)
        except CommandError as exc:
            self.say(str(exc))
            return None
        self.sent.append(command_id)
        self._hurry()
        self.say(f"{said or command} sent{self._engines.waiting(command)}")
        self._sent_said[command_id] = self._said
        return command_id

    async def action_login(self) -> None:
        if self._unsaved() and (self.me is None or self.me.attempt_id != self.call.attempt_id) \
                and not self._login_warned:
            self._login_warned = True
            assert self.call is not None
            self.say(f"the call to {self.call.card.phone} has no disposition: save it (Ctrl+S), "
                     "or F5 again to log in without it")
            return
        if await self._send("login", {}) is not None and self.call is not None \
                and (self.me is None or self.me.attempt_id != self.call.attempt_id):
            await self._clear_call()

    async def action_ready(self) -> None:
        await self._send("ready", {})

    async def action_logout(self) -> None:
        me, call = self.me, self.call
        if call is not None and call.attempt_id not in self._disposed and me is not None \
                and me.state in ("wrap_up", "paused") and me.attempt_id == call.attempt_id:   # paused from wrap-up
            self.say("save the disposition first (F6 to choose, Ctrl+S to save); then log out")
            return
        if me is not None and me.state in ("reserved", "on_call") \
                and not self._logout_press.confirmed(me.attempt_id, self.clock.now()):
            self.say(f"you are on a call: F10 again within {CONFIRM_S:g} s hangs the customer up and logs you out "
                     "(F8 ends the call only)")
            return
        await self._send("logout", {})

    async def action_end_call(self) -> None:
        await self._send("end_call", {"rate": False})

    async def action_end_call_rated(self) -> None:
        """End the conversation and send the customer to the short rating menu (1-5)."""
        await self._send("end_call", {"rate": True})

    async def action_pause(self, submitted: str | None = None) -> None:
        """F3 goes to the reason box; with a reason typed, F3 (or Enter there: ``submitted``) pauses."""
        box = self.query_one("#pause-reason", Input)
        typed = box.value if submitted is None else submitted
        if not (reason := typed.strip()):
            box.focus()
            self.say("say why you pause (e.g. lunch, training) in the pause reason box, then Enter")
            return
        if await self._send("pause", {"reason": reason}) is not None:
            box.value = box.value.removeprefix(typed)

    async def action_dial(self, submitted: str | None = None) -> None:
        """F4 goes to the number box; with a number typed, F4 (or Enter there: ``submitted``) dials."""
        box = self.query_one("#dial-phone", Input)
        typed = box.value if submitted is None else submitted
        phone = typed.strip()
        campaign_id = self.query_one("#dial-campaign", Select).value
        if not phone:
            box.focus()
            self.say("type the number to dial, then Enter")
            return
        if campaign_id is Select.NULL:
            self.say("choose the campaign the call belongs to (its caller ID is used)")
            return
        if await self._send("dial", {"phone": phone, "campaign_id": campaign_id}) is not None:
            box.value = box.value.removeprefix(typed)

    async def action_save(self) -> None:
        call = self.call
        if call is None or call.attempt_id in self._disposed:
            self.say("no call waits for a disposition")
            return
        form = self.query_one(DispositionForm)
        try:
            chosen, args = form.collect(call.timezone, self.clock.now())
        except FormError as exc:
            self.say(str(exc))
            return
        if missing := self.query_one(ScriptPanel).missing_fields():
            self.say(f"the script needs {', '.join(missing)}")
            return
        args = {"attempt_id": call.attempt_id, **args,
                "script_answers": {"path": [{"step": s, "answer": a} for s, a in call.path], "fields": call.filled}}
        command_id = await self._send("disposition", args, said=f"disposition {chosen.code}")
        if command_id is not None:
            self._pending_dispositions[command_id] = (call, args)
            self._disposed.add(call.attempt_id)
            form.open = False
            self.set_focus(None)      # out of the form: the next call's script answers to the digits
            if self.me is None or self.me.attempt_id != call.attempt_id:
                await self._clear_call()
