"""``dialer watch [CAMPAIGN]``: the supervisor's live view of the floor.

Everything on screen comes from the engines' pictures (LISTEN dialer_picture), so the view costs the
store one primary-key read per engine per second. Keys act through the same paths as the CLI: operator
commands for pause/ready/spy, ``lists.campaigns`` for campaign state and live tuning.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar, TypeVar

import asyncpg
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Label, Sparkline, Static

from dialer import command_rights, seller_prompt
from dialer.clock import Clock
from dialer.recorder import STORE_UNREACHABLE
from dialer.views.feed import CommandError, PictureFeed, command_results, send_command
from dialer.views.gone import gone_engines
from dialer.views.listener import SharedListener
from dialer.views.operator_console import FloorChanged
from dialer.views.picture import CampaignState, FloorPicture, OperatorRow
from dialer.views.pool_panel import pool_lines
from dialer.views.scope import scoped
from dialer.views.tuning_form import TuningForm
from lists import campaigns
from people.rights import Person

W = TypeVar("W", bound=Widget)
HISTORY = 600          # samples kept for the plots (one per picture: ten minutes)
STALE_S = 5.0          # engines publish every second; this much silence means something is wrong
FUNNEL = ("originated", "answered", "connected", "abandoned", "not_dialed")   # the engine's since-start totals
CALL_STATES = ("originating", "waiting", "handing_off", "connected", "safe_harbor")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def pacing_lines(campaign: CampaignState, operators: tuple[OperatorRow, ...]) -> list[str]:
    """The pacing panel's text; a pure function of the picture so it can be read in tests."""
    s, e, ab = campaign.settings, campaign.estimates, campaign.abandonment
    mode = campaign.mode if campaign.effective_mode == campaign.mode \
        else f"{campaign.mode} → {campaign.effective_mode} (abandonment fall-back)"
    working = [o for o in operators if o.state not in ("logged_out", "logged_in", "paused")]
    in_flight = sum(campaign.calls.get(k, 0) for k in ("originating", "waiting", "handing_off"))
    lines_now = f"{in_flight / len(working):.2f}" if working else "—"
    handle = e.get("mean_talk_s", 0.0) + e.get("mean_wrap_s", 0.0)
    samples = int(e.get("samples", 0))
    lines = [
        f"mode: {mode}" + (f"  α={campaign.alpha:.3f}" if campaign.alpha is not None else ""),
        f"lines per operator: {lines_now} now, max {s.get('max_lines_per_operator', '—')}"
        + (f", ratio {s['ratio']}" if campaign.mode == "ratio" and "ratio" in s else ""),
        f"answer rate: {e.get('answer_rate', 0.0):.1%} ({samples} answer{'' if samples == 1 else 's'} seen)",
        f"ring to answer: {e.get('mean_ring_to_answer_s', 0.0):.1f} s   handle: {handle:.0f} s "
        f"(talk {e.get('mean_talk_s', 0.0):.0f} + wrap {e.get('mean_wrap_s', 0.0):.0f})",
        "abandoned / live answers (an answer counts once put through, sent to the message or lost waiting):",
        f"abandoned last hour: {ab.last_hour_abandons}/{ab.last_hour_answers} = {ab.last_hour_rate:.2%}",
        *([f"abandoned today: {ab.today_abandons}/{ab.today_answers} = {ab.today_rate:.2%}"]
          if ab.today_rate is not None else []),
        f"abandoned {ab.window_hours:g} h window: {ab.abandons}/{ab.answers} = {ab.rate:.2%} "
        f"(target {s.get('target_abandon', 0.0):.1%}, cap {ab.cap:.1%})"
        + ("  OVER CAP" if ab.rate > ab.cap else ""),
    ]
    if campaign.nothing_to_dial:
        lines.append(f"nothing to dial now: no lead is due within calling hours (`dialer lists show {campaign.name}`)")
    totals = campaign.totals
    if totals:   # in the funnel's order (the store's JSON sorts the keys), then what an engine may add
        order = [k for k in FUNNEL if k in totals] + [k for k in totals if k not in FUNNEL]
        lines.append("since start: " + ", ".join(f"{k.replace('_', ' ')} {totals[k]}" for k in order))
    return lines


def _absent_title(name: str | None, absent: tuple[int, str] | None) -> str:
    if name is None:
        return "no campaign is running"
    if absent is None:
        return f"campaign {name!r} is not running on any engine"
    state = absent[1]
    if state == "paused":
        return f"campaign {name!r} is paused (s starts it)"
    if state == "running":
        return f"campaign {name!r} is running, but no engine has it yet — is `dialer run` up?"
    return f"campaign {name!r} is {state}"


class WatchApp(App[None]):
    TITLE = "dialer watch"
    CSS = """
    #title { height: 1; background: $primary; padding: 0 1; }
    #top { height: 1fr; }
    #operators { width: 2fr; }
    #side { width: 1fr; padding: 0 1; }
    #calls, #pacing, #pool { height: auto; margin-bottom: 1; }
    Sparkline { height: 3; }
    #message { height: 1; color: $warning; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "next_campaign", "Next campaign"),
        Binding("s", "toggle_campaign", "Start/pause campaign"),
        Binding("o", "toggle_operator", "Pause/resume operator"),
        Binding("l", "spy('listen')", "Listen"),
        Binding("w", "spy('whisper')", "Whisper"),
        Binding("b", "spy('barge')", "Barge"),
        Binding("t", "tune", "Tune pacing"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, db: asyncpg.Pool, clock: Clock, *, campaign: str | None = None,
                 supervisor_extension: str | None = None, actor: str = "supervisor", listen: bool = True,
                 whatif_hours: float = 2.0, person: Person | None = None,
                 listener: SharedListener | None = None) -> None:
        super().__init__()
        self.person = person      # who logged in (dialer serve): sees and acts on their campaigns only
        self.db = db
        self.clock = clock
        self.campaign_name = campaign
        self.supervisor_extension = supervisor_extension
        self.whatif_hours = whatif_hours
        self.actor = person.actor if person else actor
        self.floor = FloorPicture()
        self.occupancy_history: dict[int, deque[float]] = {}
        self.abandon_history: dict[int, deque[float]] = {}
        self.sent: list[int] = []
        self._sent_for: dict[int, str] = {}           # by command id: the operator it is for
        self._gone: frozenset[str] = frozenset()      # engines of the floor gone from the store
        self.absent: tuple[int, str] | None = None   # the named campaign's id and state while no engine runs it
        self._title = ""     # as shown: the title is looked at every second, and drawn again only when it changes
        self._feed = PictureFeed(db, lambda floor: self.post_message(FloorChanged(floor)), self.say,
                                 listener=listener) if listen else None

    def compose(self) -> ComposeResult:
        yield Static("waiting for the engine's first picture…", id="title")
        with Horizontal(id="top"):
            yield DataTable(id="operators", cursor_type="row", zebra_stripes=True)
            with Vertical(id="side"):
                yield Static("", id="calls")
                yield Static("", id="pacing")
                yield Static("", id="pool")
                yield Label("occupancy", id="occupancy-label")
                yield Sparkline([], id="occupancy-plot")
                yield Label("abandonment (window)", id="abandon-label")
                yield Sparkline([], id="abandon-plot")
        yield Static("", id="message")
        yield Footer()

    async def on_mount(self) -> None:
        table = self._q("#operators", DataTable)
        for key, label in (("name", "operator"), ("ext", "ext"), ("state", "state"), ("in_state", "in state"),
                           ("calls", "calls"), ("talk", "talk"), ("occupancy", "occupancy")):
            table.add_column(label, key=key)
        self.set_interval(1.0, self._look_at_engine)
        if self._feed is not None:
            await self._feed.start()

    async def on_unmount(self) -> None:
        if self._feed is not None:
            await self._feed.stop()

    def say(self, text: str) -> None:
        if self._base() is not None:
            self._q("#message", Static).update(Text(text))

    def _base(self) -> Screen[Any] | None:
        """The view's own screen, also while the tuning form is on top; None while shutting down."""
        stack = self.screen_stack
        return stack[0] if stack and stack[0].query("#title") else None

    def _q(self, selector: str, kind: type[W]) -> W:
        base = self._base()
        assert base is not None
        return base.query_one(selector, kind)

    # ---- state in -----------------------------------------------------------------------------

    @property
    def campaign(self) -> CampaignState | None:
        if self.campaign_name is not None:
            return self.floor.campaign(self.campaign_name)
        return self.floor.campaigns[0] if self.floor.campaigns else None

    def shown_operators(self) -> tuple[OperatorRow, ...]:
        campaign = self.campaign
        if self.campaign_name is not None and campaign is None:
            return self.floor.operators_of(self.absent[0]) if self.absent else ()
        return self.floor.operators_of(campaign.id if campaign and self.campaign_name else None)

    async def on_floor_changed(self, message: FloorChanged) -> None:
        if self._base() is None:
            return
        self.floor = message.floor if self.person is None else scoped(message.floor, self.person)
        self.absent = await self._absent_campaign()
        for campaign in self.floor.campaigns:
            working = [o for o in self.floor.operators_of(campaign.id) if o.state != "logged_out"]
            occupancy = sum(o.occupancy for o in working) / len(working) if working else 0.0
            self.occupancy_history.setdefault(campaign.id, deque(maxlen=HISTORY)).append(occupancy)
            self.abandon_history.setdefault(campaign.id, deque(maxlen=HISTORY)).append(campaign.abandonment.rate)
        self._render()
        if self.sent:
            for result in await command_results(self.db, self.sent):
                if result.done:
                    self.sent.remove(result.id)
                    whom = self._sent_for.pop(result.id, None)
                    self.say(f"{result.command}{f' for {whom}' if whom else ''}: "
                             + (f"refused — {result.refused}" if result.refused else "done"))

    async def _absent_campaign(self) -> tuple[int, str] | None:
        """The named campaign's id and state when no engine publishes it: paused (its operators still log
        in and finish their calls), or running with no engine to take it."""
        if self.campaign_name is None or self.floor.campaign(self.campaign_name) is not None:
            return None
        return await campaigns.state_of(self.db, self.campaign_name)

    async def _look_at_engine(self) -> None:
        """Each second: a late picture's engine may be gone from the store (then said at once)."""
        if (gone := await gone_engines(self.db, self.floor, self.clock.now())) is not None:
            self._gone = gone
        self._render_title()

    def _render_title(self) -> None:
        if self._base() is None:
            return
        campaign = self.campaign
        at = f"{self.floor.at:%H:%M:%S}" if self.floor.at else "—"
        if campaign is None:
            wanted = _absent_title(self.campaign_name, self.absent)
            title = f"{wanted}  (picture {at})"
        else:
            title = f"{campaign.name} on {campaign.engine}  (picture {at}, {len(self.floor.campaigns)} campaign(s))"
        if self.floor.pbx_down:   # the floor may look busy, but nothing is dialed there until the link is back
            title += f"  PBX link down: {', '.join(self.floor.pbx_down)} — no new calls there"
        stopped = self.floor.stopped_at(campaign.engine) if campaign is not None else None
        if stopped is not None:   # its last picture, written as it stopped: nothing here moves until a start
            title += f"  STOPPED: {campaign.engine} stopped at {stopped:%H:%M:%S}; this is its last picture " \
                     "(`dialer run` starts it)"
        elif self.floor.at is not None:
            # engines publish every second: a silent one has stopped or lost the store, and what is shown is old
            silent = (self.clock.now() - self.floor.at).total_seconds()
            if campaign is not None and campaign.engine in self._gone:
                title += f"  STALE: no picture for {silent:.0f} s — {campaign.engine} has no session with the " \
                         "store: killed, crashed or cut off from it"
            elif silent > STALE_S:
                title += f"  STALE: no picture for {silent:.0f} s — is the engine running?"
        if title != self._title:
            self._title = title
            self._q("#title", Static).update(Text(title))

    def _render(self) -> None:
        campaign = self.campaign
        self._render_title()
        self._render_operators()
        calls = self._q("#calls", Static)
        pacing = self._q("#pacing", Static)
        db = self.floor.pool_of(campaign.id) if campaign is not None else None
        self._q("#pool", Static).update(Text("\n".join(pool_lines(db, self.floor.campaigns)) if db else ""))
        if campaign is None:
            calls.update("")
            pacing.update("")
            return
        calls.update(Text("calls in flight: " + "  ".join(
            f"{state.replace('_', ' ')} {campaign.calls.get(state, 0)}" for state in CALL_STATES)))
        pacing.update(Text("\n".join(pacing_lines(campaign, self.floor.operators_of(campaign.id)))))
        occupancy = list(self.occupancy_history.get(campaign.id, ()))
        abandonment = list(self.abandon_history.get(campaign.id, ()))
        self._q("#occupancy-plot", Sparkline).data = occupancy
        self._q("#abandon-plot", Sparkline).data = abandonment
        if occupancy:
            self._q("#occupancy-label", Label).update(
                Text(f"occupancy now {occupancy[-1]:.0%} (min {min(occupancy):.0%}, max {max(occupancy):.0%})"))
        if abandonment:
            self._q("#abandon-label", Label).update(
                Text(f"abandonment ({campaign.abandonment.window_hours:g} h window) now {abandonment[-1]:.2%}, "
                     f"cap {campaign.abandonment.cap:.1%}"))

    def _render_operators(self) -> None:
        table = self._q("#operators", DataTable)
        selected = self.selected_operator()
        table.clear()
        for o in self.shown_operators():
            state = o.state.replace("_", " ") + (f" ({o.pause_reason})" if o.pause_reason else "")
            table.add_row(o.name, o.extension, state, _duration(o.since_s), str(o.calls), _duration(o.talk_s),
                          f"{o.occupancy:.0%}", key=str(o.id))
        if selected is not None:
            rows = [o.id for o in self.shown_operators()]
            if selected.id in rows:
                table.move_cursor(row=rows.index(selected.id), animate=False)

    def selected_operator(self) -> OperatorRow | None:
        table = self._q("#operators", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((o for o in self.floor.operators if str(o.id) == key), None)

    # ---- actions ------------------------------------------------------------------------------

    def action_next_campaign(self) -> None:
        names = [c.name for c in self.floor.campaigns]
        if not names:
            return
        current = self.campaign
        index = names.index(current.name) if current and current.name in names else -1
        self.campaign_name = names[(index + 1) % len(names)]
        self._render()

    async def action_toggle_campaign(self) -> None:
        name = self.campaign_name or (self.campaign.name if self.campaign else None)
        if name is None:
            self.say("no campaign to start or pause")
            return
        try:
            async with self.db.acquire() as conn, conn.transaction():
                current = await campaigns.get(conn, name)
                refusal = await command_rights.campaign_refusal(conn, self.person, current.id, name)
                if refusal is not None:
                    self.say(refusal)
                    return
                state = "paused" if current.state == "running" else "running"
                if state == "running":   # the same rule as `dialer campaign start` (the seller prompt)
                    await seller_prompt.start(conn, name, actor=self.actor, now=self.clock.now())
                else:
                    await campaigns.set_state(conn, name, state, actor=self.actor, now=self.clock.now())
        except campaigns.CampaignError as exc:
            self.say(str(exc))
            return
        except STORE_UNREACHABLE as exc:     # the view lives on; the key may be pressed again
            self.say(f"campaign {name} not changed: the store is unreachable ({type(exc).__name__})")
            return
        self.say(f"campaign {name}: {state}")

    async def _command(self, operator: OperatorRow, command: str, args: dict[str, Any]) -> None:
        try:
            command_id = await send_command(self.db, operator_id=operator.id, command=command, args=args,
                                            actor=self.actor, now=self.clock.now(),
                                            person_id=self.person.id if self.person else None)
        except CommandError as exc:
            self.say(str(exc))
            return
        self.sent.append(command_id)
        self._sent_for[command_id] = operator.name
        self.say(f"{command} sent for {operator.name}")

    async def action_toggle_operator(self) -> None:
        operator = self.selected_operator()
        if operator is None:
            self.say("select an operator first")
        elif operator.state == "paused":
            await self._command(operator, "ready", {})
        else:
            await self._command(operator, "pause", {"reason": "supervisor"})

    async def action_spy(self, mode: str) -> None:
        operator = self.selected_operator()
        if operator is None:
            self.say("select an operator first")
        elif not self.supervisor_extension:
            self.say("no phone of yours to ring: `dialer users extension NAME EXT` sets it" if self.person else
                     "start the view with --extension YOUR_PHONE to listen, whisper or barge")
        else:
            await self._command(operator, "spy", {"supervisor_extension": self.supervisor_extension, "mode": mode})

    def action_tune(self) -> None:
        campaign = self.campaign
        if campaign is None:
            self.say("no campaign to tune")
            return
        working = [o for o in self.floor.operators_of(campaign.id) if o.state not in ("logged_out", "logged_in")]
        self.push_screen(TuningForm(self.db, campaign, clock=self.clock, actor=self.actor, operators=len(working),
                                    hours=self.whatif_hours, person=self.person), self._tuned)

    def _tuned(self, message: str | None) -> None:
        if message:
            self.say(message)
