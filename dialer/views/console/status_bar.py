"""The console's top line: who, the state and its timer, calls and talk time, and what stops calls
coming (a dropped phone, a lost PBX link, a paused campaign, a campaign no engine runs, an engine gone silent).

The timers count minutes, and the line is drawn again only when its text changes: a server holds hundreds
of consoles, and a line that counted seconds would repaint every one of them every second (and the engine's
picture, which arrives every second, changes nothing on the line most of the time). Nor is the line looked
at every second: only when a minute turns, or the engine's silence is about to be (or is being) said; each
look of hundreds of consoles' is a timer event through their message queues."""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.text import Text
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget

from dialer.clock import Clock
from dialer.views.console.engines import STALE_S
from dialer.views.picture import FloorPicture, OperatorRow

LOOK_AGAIN_S = (0.05, 60.0)   # the shortest and longest wait before the line is looked at again
# the engine's "reserved" lasts until the customer's Redirect lands in the operator's conference
_STATE_SHOWN = {"reserved": "CONNECTING", "logged_in": "CALLING YOUR PHONE"}
# busy states in which the phone may be out of the conference while the engine calls it back
_PHONE_MATTERS = ("on_call", "reserved", "wrap_up", "paused")


def clock_text(seconds: float) -> str:
    """Whole minutes: "0 min", "12 min", "1 h 05 min"."""
    hours, minutes = divmod(max(0, int(seconds)) // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $primary; color: $text; padding: 0 1; }
    """

    # what the line is made of; a change redraws the line only if its text changes (``_changed``)
    me: var[OperatorRow | None] = var(None)
    received_at: var[float] = var(0.0)           # loop time the operator's entry arrived
    floor_at: var[datetime | None] = var(None)   # when the engine published it
    paused: var[tuple[str, ...]] = var(())       # the operator's campaigns that are paused
    unrun: var[tuple[str, ...]] = var(())        # the operator's running campaigns that no engine has
    pbx_down: var[tuple[str, ...]] = var(())     # Asterisk servers the engine cannot reach

    def __init__(self, who: str, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.who = who
        self.clock = clock
        self._shown = ""
        self._look: Timer | None = None

    def on_mount(self) -> None:
        self._changed()

    def show(self, me: OperatorRow | None, floor: FloorPicture) -> None:
        """A picture came: the operator's entry in it, when the engine published it, the PBX links down."""
        self.received_at = asyncio.get_running_loop().time()
        self.floor_at = floor.at
        self.pbx_down = floor.pbx_down
        self.me = me

    def _changed(self) -> None:
        line = self.line()
        if line != self._shown:
            self._shown = line
            self.refresh()
        # the minutes and the engine's silence move without news: the next look when they can have moved
        if self._look is not None:
            self._look.stop()
        self._look = self.set_timer(self.next_look_s(), self._changed)

    watch_me = watch_received_at = watch_floor_at = watch_paused = watch_unrun = watch_pbx_down = _changed

    def next_look_s(self) -> float:
        """Seconds until the line's text may change with no news: the state's minute turns, or the engine's
        silence passes ``STALE_S`` (and then its count moves each second)."""
        wait = LOOK_AGAIN_S[1]
        if self.me is not None:
            elapsed = self.me.since_s + (asyncio.get_running_loop().time() - self.received_at)
            wait = min(wait, 60.0 - elapsed % 60.0)
        if self.floor_at is not None:
            silent = (self.clock.now() - self.floor_at).total_seconds()
            wait = min(wait, 1.0 if silent > STALE_S else STALE_S - silent)
        return max(LOOK_AGAIN_S[0], wait + 0.01)     # just past the turn, not just before it

    @property
    def text(self) -> str:
        return self.line()

    def line(self) -> str:
        me = self.me
        line = f"{self.who}  "
        if self.unrun:   # first: the rest of the line (a state, its timer) is what the last engine left
            line += f"no engine runs campaign {', '.join(self.unrun)}: your commands wait (`dialer run`) — "
        if me is None:
            line += "LOGGED OUT"
        else:
            elapsed = me.since_s + (asyncio.get_running_loop().time() - self.received_at)
            state = _STATE_SHOWN.get(me.state, me.state.replace("_", " ").upper())
            # the engine keeps the last reason after the pause ends: said only while paused
            state += f" ({me.pause_reason})" if me.pause_reason and me.state == "paused" else ""
            line += f"{state} {clock_text(elapsed)}  calls {me.calls}  talk {clock_text(me.talk_s)}"
            if me.phone_up is False and me.state in _PHONE_MATTERS:
                line += "  — your phone dropped: answer it when it rings"
        if self.pbx_down:   # a ready operator would otherwise wait for calls that cannot come
            line += f"  — PBX link down ({', '.join(self.pbx_down)}): no new calls"
        for name in self.paused:   # no calls come from it until a manager starts it again
            line += f"  — campaign {name} paused"
        if self.floor_at is not None:
            silent = (self.clock.now() - self.floor_at).total_seconds()
            if silent > STALE_S:   # the timer above would keep counting for an engine that is gone
                line += f"  — no news from the engine for {silent:.0f} s"
        return line

    def render(self) -> Text:
        return Text(self._shown, no_wrap=True, overflow="ellipsis")
