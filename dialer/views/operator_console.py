"""``dialer operator --name NAME``: the console of one operator.

It renders the operator's entry of the engine's snapshot (state and timer) and, when that entry carries
an attempt, the customer card and the campaign's call script filled with the customer's data. Every button
becomes an ``operator_command`` row; the console never changes a lead or an attempt itself, so a
simulated operator and a person at this console go through the same engine path.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import asyncpg
from rich.text import Text
from textual.app import App, ComposeResult, ScreenStackError
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Input, Label, Select, Static

from dialer import script as call_script
from dialer.clock import Clock
from dialer.views import customer
from dialer.views.feed import CommandError, SnapshotFeed, command_results, send_command
from dialer.views.snapshot import Floor, OperatorState
from lists.dispositions import Disposition
from people.rights import Person


class FloorChanged(Message):
    """A new merged snapshot arrived from the feed."""

    def __init__(self, floor: Floor) -> None:
        super().__init__()
        self.floor = floor


@dataclass(frozen=True)
class OperatorIdentity:
    id: int
    name: str
    extension: str
    campaigns: tuple[tuple[int, str, str], ...]   # (id, name, time zone) of the campaigns this operator works


class ConsoleError(Exception):
    """The console cannot start; the message says what to do."""


async def find_operator(pool: asyncpg.Pool, name: str) -> OperatorIdentity:
    row = await pool.fetchrow(
        "SELECT id, name, extension, simulated FROM operator WHERE name = $1 AND retired_at IS NULL", name)
    if row is None:
        raise ConsoleError(f"no operator named {name!r}; add one with `dialer operators add {name} --extension …`")
    if row["simulated"]:
        # the engine's operator model answers its calls: a person at its console would fight it
        raise ConsoleError(f"{name} is a simulated operator, driven by the engine; a console is for a person")
    campaigns = await pool.fetch(
        """SELECT c.id, c.name, c.timezone FROM campaign c JOIN campaign_operator co ON co.campaign_id = c.id
           WHERE co.operator_id = $1 ORDER BY c.name""",
        row["id"],
    )
    return OperatorIdentity(row["id"], row["name"], row["extension"],
                            tuple((c["id"], c["name"], c["timezone"]) for c in campaigns))


@dataclass
class CallOnScreen:
    """The call the console is showing: from connect until its disposition is sent."""
    attempt_id: int
    card: customer.CustomerCard
    script: call_script.Script | None
    catalogue: tuple[Disposition, ...]
    timezone: str
    step_id: str | None = None
    path: list[tuple[str, str]] = field(default_factory=list)   # (step, answer label) in the order taken
    filled: dict[str, str] = field(default_factory=dict)


STALE_S = 5.0   # engines publish every second
# the engine's "reserved" lasts until the customer's Redirect lands in the operator's conference
_STATE_SHOWN = {"reserved": "CONNECTING", "logged_in": "CALLING YOUR PHONE"}
# busy states in which the phone may be out of the conference while the engine calls it back
_PHONE_MATTERS = ("on_call", "reserved", "wrap_up", "paused")


def _clock_text(seconds: float) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _effect(disposition: Disposition) -> str:
    """What the code will do to the lead, said before the operator saves it."""
    if disposition.schedules_callback:
        return "needs the callback time below"
    if disposition.final:
        return "finishes the lead"
    if disposition.follow_up_days is not None:
        return f"follow-up call in {disposition.follow_up_days} days (or at the time below)"
    if disposition.retry_after_s is not None:
        return f"calls again in {disposition.retry_after_s // 60} min (or at the time below)"
    return "the lead stays in the list"


class OperatorConsole(App[None]):
    TITLE = "dialer operator"
    CSS = """
    #status { height: 1; background: $primary; color: $text; padding: 0 1; }
    #message { height: 1; color: $warning; padding: 0 1; }
    #main { height: 1fr; }
    #card-pane, #script-pane, #disposition-pane { width: 1fr; border: round $secondary; padding: 0 1; }
    #answers Button, #controls Button { margin: 0 1 0 0; }
    #answers, #fields { height: auto; }
    #controls { height: auto; }
    #controls Input { width: 20; }
    #controls Select { width: 20; }
    #controls Button { min-width: 10; }
    #disposition-effect { color: $text-muted; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "ready", "Ready"),
        Binding("f3", "pause", "Pause"),
        Binding("f5", "login", "Log in"),
        Binding("f10", "logout", "Log out"),
        Binding("f8", "end_call", "End call"),
        Binding("f9", "end_call_rated", "End + rating"),
        # answers by number, so an operator can follow the script without the mouse
        *(Binding(str(n), f"answer({n - 1})", f"answer {n}", show=False) for n in range(1, 10)),
    ]

    def __init__(self, pool: asyncpg.Pool, operator: OperatorIdentity, clock: Clock, *,
                 listen: bool = True, person: Person | None = None) -> None:
        super().__init__()
        self.pool = pool
        self.operator = operator
        self.person = person                      # who logged in (dialer serve); the engine checks their rights
        self.clock = clock
        self.me: OperatorState | None = None
        self.call: CallOnScreen | None = None
        self.sent: list[int] = []                 # command ids whose result is not yet known
        self._disposed: set[int] = set()          # attempts whose disposition was sent
        self._pending_dispositions: dict[int, tuple[CallOnScreen, dict[str, Any]]] = {}   # by command id
        self._received_at = 0.0
        self._floor_at: datetime | None = None
        self._feed = SnapshotFeed(pool, self._floor_from_feed, self._feed_error) if listen else None

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal(id="main"):
            with VerticalScroll(id="card-pane"):
                yield Static("No call.", id="card")
                yield Static("", id="history")
            with VerticalScroll(id="script-pane"):
                yield Static("", id="script-title")
                yield Static("", id="script-text")
                yield Vertical(id="fields")
                yield Horizontal(id="answers")
                yield Button("Back", id="script-back", disabled=True)
            with VerticalScroll(id="disposition-pane"):
                yield Label("Disposition")
                yield Select[str]([], prompt="disposition", id="disposition")
                yield Static("", id="disposition-effect")
                yield Input(placeholder="notes", id="notes")
                yield Label("Callback / follow-up at (campaign time)")
                yield Input(placeholder="YYYY-MM-DD HH:MM", id="callback-at")
                yield Select[str]([("only me", "personal"), ("anyone", "anyone")], value="personal",
                                  allow_blank=False, id="callback-scope")
                yield Input(placeholder="callback on another number (optional)", id="callback-phone")
                yield Button("Save disposition", id="save", variant="primary", disabled=True)
        with Horizontal(id="controls"):
            yield Button("Log in", id="login")
            yield Button("Ready", id="ready", variant="success")
            yield Input(placeholder="pause reason", id="pause-reason")
            yield Button("Pause", id="pause", variant="warning")
            yield Input(placeholder="number to dial", id="dial-phone")
            yield Select[int]([(name, cid) for cid, name, _ in self.operator.campaigns], prompt="campaign",
                              id="dial-campaign",
                              value=self.operator.campaigns[0][0] if self.operator.campaigns else Select.NULL)
            yield Button("Dial", id="dial")
            yield Button("End call", id="end_call")
            yield Button("End + rating", id="end_call_rated")
            yield Button("Log out", id="logout", variant="error")
        yield Static("", id="message")
        yield Footer()

    async def on_mount(self) -> None:
        self._render_status()
        self.set_interval(1.0, self._render_status)
        if self._feed is not None:
            await self._feed.start()

    async def on_unmount(self) -> None:
        if self._feed is not None:
            await self._feed.stop()

    # ---- snapshots in -------------------------------------------------------------------------

    def _floor_from_feed(self, floor: Floor) -> None:
        self.post_message(FloorChanged(floor))

    def _feed_error(self, message: str) -> None:
        self.say(message)

    async def on_floor_changed(self, message: FloorChanged) -> None:
        if not self._showing():
            return
        was = self.me
        self.me = next((o for o in message.floor.operators if o.id == self.operator.id), None)
        why = self.me.logged_out_why if self.me is not None and self.me.state == "logged_out" else None
        if why and (was is None or was.logged_out_why != why):
            self.say(f"logged out by the engine: {why}")     # the full sentence: the status line is short
        self._floor_at = message.floor.at
        self._received_at = asyncio.get_running_loop().time()
        self._render_status()
        me = self.me
        if me is not None and me.attempt_id is not None and me.lead_id is not None \
                and me.attempt_id not in self._disposed \
                and (self.call is None or self.call.attempt_id != me.attempt_id):
            await self._show_call(me.attempt_id, me.lead_id)
        elif self.call is not None and self.call.attempt_id in self._disposed \
                and (me is None or me.attempt_id != self.call.attempt_id):
            await self._clear_call()
        if self.sent:
            await self._check_results()

    async def _check_results(self) -> None:
        for result in await command_results(self.pool, self.sent):
            if not result.done:
                continue
            self.sent.remove(result.id)
            pending = self._pending_dispositions.pop(result.id, None)
            if result.refused:
                self.say(f"{result.command} refused: {result.refused}")
                if pending is not None:
                    await self._restore(*pending)

    async def _restore(self, call: CallOnScreen, args: dict[str, Any]) -> None:
        """A refused disposition comes back on screen as it was sent, so the operator corrects it instead
        of typing it again (a callback number the engine could not read, a code removed meanwhile)."""
        self._disposed.discard(call.attempt_id)
        if self.call is not None and self.call.attempt_id != call.attempt_id:
            return   # another call is on screen now; the refusal message stays
        call.catalogue = await customer.dispositions(self.pool, call.card.campaign_id)   # a code retired meanwhile
        await self._put_call(call)
        if any(d.code == args["code"] for d in call.catalogue):
            self.query_one("#disposition", Select).value = args["code"]
        self.query_one("#notes", Input).value = args.get("notes") or ""
        self.query_one("#callback-phone", Input).value = args.get("callback_phone") or ""
        if args.get("callback_at"):
            local = datetime.fromisoformat(args["callback_at"]).astimezone(ZoneInfo(call.timezone))
            self.query_one("#callback-at", Input).value = f"{local:%Y-%m-%d %H:%M}"

    # ---- rendering ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        if self._showing():
            self.query_one("#message", Static).update(Text(text))

    def _showing(self) -> bool:
        try:
            return bool(self.screen.query("#status"))
        except ScreenStackError:
            return False

    def _render_status(self) -> None:
        if not self._showing():
            return   # a timer or a late snapshot while the console shuts down
        me = self.me
        head = f"{self.operator.name} (ext {self.operator.extension})  "
        if me is None:
            line = head + "LOGGED OUT"
        else:
            elapsed = me.since_s + (asyncio.get_running_loop().time() - self._received_at)
            state = _STATE_SHOWN.get(me.state, me.state.replace("_", " ").upper())
            state += f" ({me.pause_reason})" if me.pause_reason else ""
            line = head + f"{state} {_clock_text(elapsed)}  calls {me.calls}  talk {_clock_text(me.talk_s)}"
            if me.phone_up is False and me.state in _PHONE_MATTERS:
                line += "  — your phone dropped: answer it when it rings"
        if self._floor_at is not None:
            silent = (self.clock.now() - self._floor_at).total_seconds()
            if silent > STALE_S:   # the timer above would keep counting for an engine that is gone
                line += f"  — no news from the engine for {silent:.0f} s"
        self.query_one("#status", Static).update(Text(line))

    async def _show_call(self, attempt_id: int, lead_id: int) -> None:
        card = await customer.customer_card(self.pool, lead_id, attempt_id)
        if card is None:
            self.say(f"lead {lead_id} is not in the store")
            return
        try:
            script = await customer.campaign_script(self.pool, card.campaign_id)
        except call_script.ScriptError as exc:
            script = None
            self.say(f"the campaign's script is broken: {exc}")
        catalogue = await customer.dispositions(self.pool, card.campaign_id)
        timezone = next((tz for cid, _, tz in self.operator.campaigns if cid == card.campaign_id), "UTC")
        await self._put_call(CallOnScreen(attempt_id, card, script, catalogue, timezone,
                                          step_id=script.start if script else None))

    async def _put_call(self, call: CallOnScreen) -> None:
        self.call = call
        self._render_card()
        select = self.query_one("#disposition", Select)
        select.set_options([(f"{d.label} ({d.code})", d.code) for d in call.catalogue])
        self.query_one("#save", Button).disabled = False
        await self._render_script()

    async def _clear_call(self) -> None:
        self.call = None
        self.query_one("#card", Static).update("No call.")
        self.query_one("#history", Static).update("")
        self.query_one("#script-title", Static).update("")
        self.query_one("#script-text", Static).update("")
        await self.query_one("#answers").remove_children()
        await self.query_one("#fields").remove_children()
        self.query_one("#script-back", Button).disabled = True
        self.query_one("#disposition", Select).set_options([])
        self.query_one("#disposition-effect", Static).update("")
        self.query_one("#save", Button).disabled = True
        for input_id in ("#notes", "#callback-at", "#callback-phone"):
            self.query_one(input_id, Input).value = ""

    def _render_card(self) -> None:
        assert self.call is not None
        card = self.call.card
        lines = [f"phone: {card.phone}", f"category: {card.category}"]
        lines += [f"{key}: {value}" for key, value in card.fields.items()]
        self.query_one("#card", Static).update(Text("\n".join(lines)))
        if not card.attempts:
            history = "First contact."
        else:
            history = "Earlier attempts:\n" + "\n".join(
                f"{a.at:%Y-%m-%d %H:%M} {a.outcome or 'open'}"
                + (f" / {a.disposition}" if a.disposition else "")
                + (f" by {a.operator}" if a.operator else "")
                + (f" — {a.notes}" if a.notes else "")
                for a in card.attempts
            )
        self.query_one("#history", Static).update(Text(history))

    def _script_values(self) -> dict[str, Any]:
        assert self.call is not None
        return {**self.call.card.values(), "operator": self.operator.name, **self.call.filled}

    async def _render_script(self) -> None:
        call = self.call
        answers = self.query_one("#answers")
        fields = self.query_one("#fields")
        await answers.remove_children()
        await fields.remove_children()
        if call is None or call.script is None or call.step_id is None:
            self.query_one("#script-text", Static).update("This campaign has no call script.")
            return
        rendered = call_script.render(call.script, call.step_id, self._script_values())
        title = call.script.title or "Script"
        self.query_one("#script-title", Static).update(Text(f"{title} — step {call.step_id}"))
        self.query_one("#script-text", Static).update(Text(rendered.text))
        await fields.mount_all(
            Input(value=call.filled.get(f.name, ""), placeholder=f.label + (" *" if f.required else ""),
                  id=f"field-{f.name}")
            for f in rendered.step.fields
        )
        await answers.mount_all(Button(f"{i + 1} {a.label}" if i < 9 else a.label, id=f"answer-{i}")
                                for i, a in enumerate(rendered.step.answers))
        self.query_one("#script-back", Button).disabled = not call.path

    # ---- user actions -------------------------------------------------------------------------

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("answer-"):
            await self._answer(int(button.removeprefix("answer-")))
        elif button == "script-back":
            await self._back()
        elif button == "save":
            await self._save_disposition()
        elif button in ("login", "ready", "pause", "logout", "dial", "end_call", "end_call_rated"):
            await self.run_action(button)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "disposition" or self.call is None:
            return
        chosen = next((d for d in self.call.catalogue if d.code == event.value), None)
        self.query_one("#disposition-effect", Static).update(Text(_effect(chosen) if chosen else ""))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.call is not None and event.input.id and event.input.id.startswith("field-"):
            self.call.filled[event.input.id.removeprefix("field-")] = event.value

    async def action_answer(self, index: int) -> None:
        await self._answer(index)

    async def _answer(self, index: int) -> None:
        call = self.call
        if call is None or call.script is None or call.step_id is None:
            return
        step = call.script.step(call.step_id)
        if index >= len(step.answers):
            return
        missing = call_script.missing_required(step, call.filled)
        if missing:
            self.say(f"fill in {', '.join(missing)} first")
            return
        answer = step.answers[index]
        call.path.append((step.id, answer.label))
        if answer.disposition and any(d.code == answer.disposition for d in call.catalogue):
            self.query_one("#disposition", Select).value = answer.disposition
        if answer.next is not None:
            call.step_id = answer.next
            await self._render_script()
        else:
            self.say(f"end of script: {answer.label}")
            self.query_one("#script-back", Button).disabled = False

    async def _back(self) -> None:
        call = self.call
        if call is None or not call.path:
            return
        call.step_id, _ = call.path.pop()
        await self._render_script()

    async def _send(self, command: str, args: dict[str, Any]) -> int | None:
        try:
            command_id = await send_command(
                self.pool, operator_id=self.operator.id, command=command, args=args, now=self.clock.now(),
                actor=self.person.actor if self.person else f"operator:{self.operator.name}",
                person_id=self.person.id if self.person else None)
        except CommandError as exc:
            self.say(str(exc))
            return None
        self.sent.append(command_id)
        self.say(f"{command} sent")
        return command_id

    async def action_login(self) -> None:
        await self._send("login", {})

    async def action_ready(self) -> None:
        await self._send("ready", {})

    async def action_logout(self) -> None:
        await self._send("logout", {})

    async def action_end_call(self) -> None:
        await self._send("end_call", {"rate": False})

    async def action_end_call_rated(self) -> None:
        """End the conversation and send the customer to the short rating menu (1-5)."""
        await self._send("end_call", {"rate": True})

    async def action_pause(self) -> None:
        reason = self.query_one("#pause-reason", Input).value.strip()
        if not reason:
            self.say("say why you pause (e.g. lunch, training) in the pause reason box")
            return
        await self._send("pause", {"reason": reason})

    async def action_dial(self) -> None:
        phone = self.query_one("#dial-phone", Input).value.strip()
        campaign_id = self.query_one("#dial-campaign", Select).value
        if not phone:
            self.say("type the number to dial")
            return
        if campaign_id is Select.NULL:
            self.say("choose the campaign the call belongs to (its caller ID is used)")
            return
        if await self._send("dial", {"phone": phone, "campaign_id": campaign_id}) is not None:
            self.query_one("#dial-phone", Input).value = ""

    async def _save_disposition(self) -> None:
        call = self.call
        if call is None:
            return
        code = self.query_one("#disposition", Select).value
        chosen = next((d for d in call.catalogue if d.code == code), None)
        if chosen is None:
            self.say("choose a disposition")
            return
        try:
            callback_at = self._callback_at(call.timezone)
        except ValueError as exc:
            self.say(str(exc))
            return
        if chosen.schedules_callback and callback_at is None:
            self.say(f"{chosen.label}: give the callback date and time")
            return
        if chosen.final and callback_at is not None:
            self.say(f"{chosen.label} finishes the lead: clear the callback time or choose another code")
            return
        missing = self._missing_fields()
        if missing:
            self.say(f"the script needs {', '.join(missing)}")
            return
        phone = self.query_one("#callback-phone", Input).value.strip() or None
        args = {
            "attempt_id": call.attempt_id,
            "code": chosen.code,
            "notes": self.query_one("#notes", Input).value.strip() or None,
            "script_answers": {"path": [{"step": s, "answer": a} for s, a in call.path], "fields": call.filled},
            "callback_at": callback_at.isoformat() if callback_at else None,
            "callback_scope": self.query_one("#callback-scope", Select).value,
            "callback_phone": phone if callback_at else None,
        }
        command_id = await self._send("disposition", args)
        if command_id is not None:
            self._pending_dispositions[command_id] = (call, args)
            self._disposed.add(call.attempt_id)
            self.query_one("#save", Button).disabled = True
            self.say(f"disposition {chosen.code} sent")
            if self.me is None or self.me.attempt_id != call.attempt_id:
                await self._clear_call()

    def _callback_at(self, timezone: str) -> datetime | None:
        raw = self.query_one("#callback-at", Input).value.strip()
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"callback time {raw!r}: write it as YYYY-MM-DD HH:MM") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        if moment <= self.clock.now():
            raise ValueError(f"callback time {raw} is in the past")
        return moment

    def _missing_fields(self) -> list[str]:
        call = self.call
        if call is None or call.script is None:
            return []
        # the steps answered: their required fields were filled then, and may have been erased since
        missing: list[str] = []
        for step_id in dict.fromkeys(s for s, _ in call.path):
            missing += call_script.missing_required(call.script.step(step_id), call.filled)
        return missing
