"""The PBX's own record of what happened to each customer channel, heard from inside the simulator.

The fault tests judge the engine by this, not by what the engine says: when each call was created,
answered, joined an operator's conference, reached the safe-harbor message, and hung up — through AMI
drops and engine restarts alike (``SimulatorHandle.watch`` hears events with no session connected).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass

from ami.simulator import CalleeFate
from ami.simulator.channels import Pairs


@dataclass
class ChannelLife:
    attempt_id: int
    number: str
    created: float
    answered: float | None = None
    joined: float | None = None         # first ConfbridgeJoin (an operator's conference)
    safe_harbor: float | None = None    # first step in dialer-safeharbor
    ended: float | None = None

    def taken_care_of(self) -> float | None:
        """When the answered callee was first with an operator, hearing the message, or gone."""
        moments = [t for t in (self.joined, self.safe_harbor, self.ended) if t is not None]
        return min(moments) if moments else None


class Witness:
    def __init__(self) -> None:
        self.channels: dict[int, ChannelLife] = {}
        self.created_twice: list[int] = []

    def hear(self, name: str, pairs: Pairs) -> None:
        fields = dict(pairs)
        uniqueid = fields.get("Uniqueid", "")
        if not uniqueid.startswith("attempt-") or uniqueid.endswith("-2"):
            return
        attempt_id = int(uniqueid.removeprefix("attempt-"))
        now = asyncio.get_running_loop().time()
        life = self.channels.get(attempt_id)
        if name == "Newchannel":
            if life is not None:
                self.created_twice.append(attempt_id)
            number = fields.get("Channel", "").removeprefix("Local/").partition("@")[0]
            self.channels[attempt_id] = ChannelLife(attempt_id, number, now)
        elif life is None:
            return
        elif name == "UserEvent" and fields.get("UserEvent") == "DialerAnswered" and life.answered is None:
            life.answered = now
        elif name == "ConfbridgeJoin" and life.joined is None:
            life.joined = now
        elif name == "Newexten" and fields.get("Context") == "dialer-safeharbor" and life.safe_harbor is None:
            life.safe_harbor = now
        elif name == "Hangup" and life.ended is None:
            life.ended = now

    def connected_now(self) -> list[ChannelLife]:
        """Calls with an operator right now (joined a conference, not sent to the message, not ended)."""
        return [life for life in self.channels.values()
                if life.joined is not None and life.safe_harbor is None and life.ended is None]

    def overlapping_numbers(self) -> list[str]:
        """Numbers with two calls alive at the same time."""
        by_number: dict[str, list[ChannelLife]] = {}
        for life in self.channels.values():
            by_number.setdefault(life.number, []).append(life)
        overlapping = []
        for number, lives in by_number.items():
            lives.sort(key=lambda c: c.created)
            for first, second in itertools.pairwise(lives):
                if first.ended is None or second.created < first.ended:
                    overlapping.append(number)
        return overlapping


class QuickCallees:
    """A compressed world: most callees answer within 2 s and talk 3-6 s; some are busy, some never
    answer (they ring until the Originate timeout).

    A test that needs a call to live through a fault asks for stayers (``stay``): the next answering
    callees talk until the test hangs them up, so the call's life depends on the test's own steps and
    not on how fast a loaded machine runs them."""

    STAY_S = 3600.0

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.fates: dict[str, CalleeFate] = {}    # by number, digits only
        self.stayers: set[str] = set()            # numbers, digits only
        self._to_stay = 0

    def stay(self, count: int) -> None:
        """The next ``count`` callees that answer stay on the line until the test hangs them up."""
        self._to_stay = count

    def fate(self, number: str) -> CalleeFate:
        fate = self._draw()
        if fate.outcome == "answer" and self._to_stay > 0:
            self._to_stay -= 1
            self.stayers.add(number.lstrip("+"))
            fate = CalleeFate("answer", ring_s=fate.ring_s, talk_s=self.STAY_S)
        self.fates[number.lstrip("+")] = fate
        return fate

    def stayer_with_an_operator(self, witness: Witness) -> bool:
        """A stayer's call is with an operator now. A stayer the engine could not connect in time (sent to
        the safe-harbor message) does not count: another answering callee is asked to stay instead."""
        staying = self.staying(witness)
        if any(life.joined is not None and life.safe_harbor is None for life in staying):
            return True
        if self._to_stay == 0 and not any(life.safe_harbor is None for life in staying):
            self.stay(1)
        return False

    def staying(self, witness: Witness) -> list[ChannelLife]:
        """Stayers' calls that are up now."""
        return [life for life in witness.channels.values()
                if life.ended is None and life.number.lstrip("+") in self.stayers]

    def _draw(self) -> CalleeFate:
        r = self._rng.random()
        if r < 0.55:
            return CalleeFate("answer", ring_s=self._rng.uniform(0.5, 2.0), talk_s=self._rng.uniform(3.0, 6.0))
        if r < 0.75:
            return CalleeFate("busy", ring_s=self._rng.uniform(0.3, 1.0))
        if r < 0.80:
            return CalleeFate("congestion", ring_s=0.2)
        return CalleeFate("no_answer")

    def about_to_answer(self, witness: Witness) -> int:
        """Calls ringing now that will be answered: a fault now hits answers nobody can hand off."""
        return sum(1 for life in witness.channels.values()
                   if life.answered is None and life.ended is None
                   and (fate := self.fates.get(life.number.lstrip("+"))) is not None and fate.outcome == "answer")
