"""The PBX's own record of the day, heard inside the simulator (through restarts of the PBX too).

Extends the fault tests' witness with what only the switch knows for sure: whether an operator's phone
was in the conference when a customer joined it (a customer put into an empty conference is "connected"
in the engine's eyes and alone on the line).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from ami.simulator.channels import Pairs
from tests.faults.witness import ChannelLife, Witness


@dataclass(frozen=True)
class EmptyJoin:
    attempt_id: int
    conference: str
    at: float


class FloorWitness(Witness):
    def __init__(self) -> None:
        super().__init__()
        self.has_operator: Callable[[str], bool] = lambda conference: True
        self.empty_joins: list[EmptyJoin] = []
        self.phone_hangups: list[tuple[str, float]] = []   # operator phone channels that hung up, and when

    def hear(self, name: str, pairs: Pairs) -> None:
        fields = dict(pairs)
        uniqueid = fields.get("Uniqueid", "")
        now = asyncio.get_running_loop().time()
        if name == "ConfbridgeJoin" and uniqueid.startswith("attempt-") and not uniqueid.endswith("-2"):
            attempt_id = int(uniqueid.removeprefix("attempt-"))
            life = self.channels.get(attempt_id)
            conference = fields.get("Conference", "")
            if not self.has_operator(conference):
                self.empty_joins.append(EmptyJoin(attempt_id, conference, now))
                if life is not None and life.joined is None:
                    return   # joined nobody: not taken care of
        if name == "Hangup" and uniqueid.startswith("op") and not uniqueid.endswith("-2"):
            self.phone_hangups.append((uniqueid, now))
        super().hear(name, pairs)

    def connected_now(self) -> list[ChannelLife]:
        """Customers with an operator at this moment."""
        return [life for life in self.channels.values() if life.joined is not None and life.ended is None]

    def ringing_now(self) -> list[ChannelLife]:
        return [life for life in self.channels.values() if life.answered is None and life.ended is None]
