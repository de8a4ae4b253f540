"""Whether an engine runs the operator's campaigns, and so is there to carry out the console's commands.

A command is a row the engine that has the operator on its floor reads; with no engine running any of the
operator's campaigns (no ``dialer run`` yet, or the engine stopped), nobody reads it. The console says so at
once, as the supervisor's watch does: from the engines' pictures, a campaign counts as run while the picture
that lists it is fresh (an engine writes one every second, and a stopped one's last picture stays) and its
engine's session with the store lives (``dialer/views/gone.py``). The
commands are written all the same: a login, a pause or a disposition is carried out when an engine starts;
a call command (dial, end call) is refused by then if it is older than ``STALE_COMMAND_S``."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from dialer.recorder import STORE_UNREACHABLE
from dialer.store.operator_commands import CALL_COMMANDS, STALE_COMMAND_S
from dialer.views import customer
from dialer.views.gone import gone_engines
from dialer.views.picture import FloorPicture

STALE_S = 10.0   # engines publish every second, the console reads them every few seconds


class CampaignEngines:
    """The operator's campaigns that no engine runs, with their name and state from the store (read once per
    change: the console asks every second, and a server holds hundreds of consoles)."""

    def __init__(self, db: asyncpg.Pool, campaigns: tuple[tuple[int, str, str], ...]) -> None:
        self._db = db
        self._campaigns = campaigns
        self.absent: frozenset[int] | None = None    # none known before the first picture
        self._states: dict[int, tuple[str, str]] = {}

    async def seen(self, floor: FloorPicture, now: datetime) -> bool:
        """Take the floor as it is at ``now``; True when the absent campaigns changed (the screen redraws)."""
        gone = await gone_engines(self._db, floor, now)     # killed or cut off: known before STALE_S
        run = floor.campaigns_run(now, STALE_S, gone=gone or frozenset())
        absent = frozenset(cid for cid, _, _ in self._campaigns if cid not in run)
        if absent == self.absent:
            return False
        self.absent = absent
        try:
            states = await customer.campaign_states(self._db, sorted(absent)) if absent else {}
        except STORE_UNREACHABLE:
            self.absent = None      # looked at again in a second (the feed says the store is gone)
            return False
        if self.absent != absent:
            return False    # a later look changed it meanwhile, and read its own states
        self._states = states
        return True

    def paused(self) -> tuple[str, ...]:
        """No calls come from these until a manager starts them again."""
        return tuple(sorted(name for name, state in self._states.values() if state == "paused"))

    def unrun(self) -> tuple[str, ...]:
        """Running in the store, but no engine has them: no calls, and maybe nobody to read a command."""
        return tuple(sorted(name for name, state in self._states.values() if state == "running"))

    def nobody(self) -> tuple[str, ...]:
        """The operator's campaigns when no engine runs any of them (nobody reads the commands), else ()."""
        if not self._campaigns or self.absent is None or len(self.absent) < len(self._campaigns):
            return ()
        return tuple(sorted(name for _, name, _ in self._campaigns))

    def waiting(self, command: str) -> str:
        """What a command sent now is to expect, said after "… sent" ("" while an engine is there)."""
        names = self.nobody()
        if not names:
            return ""
        said = f" — no engine runs campaign {', '.join(names)}: "
        if command in CALL_COMMANDS:
            return said + f"refused unless `dialer run` starts one within {STALE_COMMAND_S:.0f} s"
        return said + "it waits, done when one starts (`dialer run`)"
