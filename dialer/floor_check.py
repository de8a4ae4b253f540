"""The live floor against a full rebuild: the check that the transitions keep every figure right.

The sections (``dialer/sections.py``) are kept by the call and operator transitions; a write that went
around them would leave a figure wrong for the rest of the day, and the pacing would quietly dial for
operators who are not there. With ``EngineConfig.check_floor`` (``DIALER_CHECK_FLOOR=1``) the engine
rebuilds every figure the way it once computed them — walking every call, the hand-off's waiting queue and
every operator — after every PBX event and at every decision, and logs an ERROR naming the campaign and
the figure at the first difference. It costs a walk of the whole floor each time: tests and debugging only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Protocol

import numpy as np

from ami.pbx import PbxEvent
from dialer.call import Call, CallState
from dialer.floor import BUSY_STATES, Floor, FloorOperator
from dialer.handoff import HandOff
from dialer.sections import ROUTING_KEYS, Section
from pacing.snapshot import Snapshot

log = logging.getLogger(__name__)


class Checked(Protocol):
    floor: Floor
    calls: dict[str, Call]
    handoff: HandOff


class FloorCheck:
    def __init__(self, engine: Checked) -> None:
        self._engine = engine
        self.checks = 0
        self.drifts: list[str] = []

    def after_event(self, event: PbxEvent) -> None:
        self.everything(asyncio.get_running_loop().time())

    def snapshot(self, campaign_id: int, snapshot: Snapshot, now: float) -> None:
        """A snapshot read from the section against the one the engine built by walking the floor."""
        ringing, waiting, busy, free = self._rebuilt(campaign_id)
        expected = (len(free), tuple([now - start for start in ringing.values()]), waiting,
                    tuple([now - start for start in busy.values()]))
        got = (snapshot.free_operators, tuple(np.asarray(snapshot.ringing_elapsed_s).tolist()),
               snapshot.waiting_answered, snapshot.busy_elapsed_s)
        self._compare(f"campaign {campaign_id} snapshot", got, expected)
        self.everything(now)

    def everything(self, now: float) -> None:
        """Every campaign's section and every pool's against a rebuild."""
        floor = self._engine.floor
        campaigns = {c.campaign_id for c in self._engine.calls.values()}
        campaigns.update(c for o in floor.operators.values() for c in o.campaigns)
        for campaign_id in sorted(campaigns):
            ringing, waiting, busy, free = self._rebuilt(campaign_id)
            section = floor.section(campaign_id)
            what = f"campaign {campaign_id}"
            self._compare(f"{what} ringing", section.ringing.items(), list(ringing.items()))
            by_state = Counter(c.state for c in self._engine.calls.values()
                               if c.campaign_id == campaign_id and c.state is not CallState.ENDED)
            self._compare(f"{what} calls by state", {s: n for s, n in section.by_state.items() if n}, dict(by_state))
            chances = [self._engine.calls[channel_id].answer_p for channel_id in ringing]
            self._compare(f"{what} answer chances", section.ringing_chances().tolist(),
                          [] if None in chances else chances)
            self._compare(f"{what} waiting", section.waiting, waiting)
            self._operators(what, section, busy, free)
        for campaigns_of_pool, section in floor.pools():
            busy = {o.seat: o.handle_start for o in floor.operators.values()
                    if o.state in BUSY_STATES and not o.campaigns.isdisjoint(campaigns_of_pool)}
            free = [o for o in floor.operators.values() if o.free and not o.campaigns.isdisjoint(campaigns_of_pool)]
            self._operators(f"pool {sorted(campaigns_of_pool)}", section, busy, free)
        self.checks += 1

    def _operators(self, what: str, section: Section[FloorOperator], busy: dict[int, float | None],
                   free: list[FloorOperator]) -> None:
        self._compare(f"{what} busy", list(zip(section.busy.seats, section.busy.starts, strict=True)),
                      list(busy.items()))
        self._compare(f"{what} free", sorted(o.id for o in section.free.operators()), sorted(o.id for o in free))
        for routing, key in ROUTING_KEYS.items():
            first = section.free.first(routing)
            self._compare(f"{what} first free by {routing}", first.id if first else None,
                          min(free, key=key).id if free else None)

    def _rebuilt(self, campaign_id: int) -> tuple[dict[str, float], int, dict[int, float | None],
                                                  list[FloorOperator]]:
        """The figures as the engine computed them before the floor kept them (in the same orders)."""
        engine = self._engine
        ringing = {c.channel_id: c.originated_at for c in engine.calls.values()
                   if c.campaign_id == campaign_id and c.state is CallState.ORIGINATING}
        waiting = sum(1 for c in engine.handoff.waiting if c.campaign_id == campaign_id)
        operators = [o for o in engine.floor.operators.values() if campaign_id in o.campaigns]
        busy = {o.seat: (o.talk_started if o.talk_started is not None else o.since)
                for o in operators if o.state in BUSY_STATES}
        return ringing, waiting, busy, [o for o in operators if o.free]

    def _compare(self, what: str, got: object, expected: object) -> None:
        if got != expected:
            drift = f"{what}: live {got!r}, rebuilt {expected!r}"
            self.drifts.append(drift)
            log.error("the live floor drifted from a rebuild: %s", drift)
