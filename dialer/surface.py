"""What the engine's neighbours may use of it: its floor in memory and a few named transitions.

The engine (``dialer/engine.py``) composes recovery, campaign groups, ownership and its own parts (dialing,
call events, operator work). They all need the same picture — the live calls, the operators on the floor,
the running campaigns — and a few of its transitions (a call answered, changed, ended; an operator
released). They see it through this Protocol rather than through the ``Engine`` class, so none of them
imports the engine: the engine imports them, never the other way round (``tests/test_architecture.py``
fails on an import loop). Everything named here is public on ``Engine``.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from ami.pbx import Pbx, PbxEvent
from dialer.answer_chances import AnswerChances
from dialer.call import Call
from dialer.clock import Clock
from dialer.config import EngineConfig
from dialer.floor import Floor, FloorOperator
from dialer.handoff import HandOff
from dialer.phones import OperatorPhones
from dialer.recorder import Recorder
from dialer.runner import CampaignRunner
from dialer.tasks import Supervisor
from pacing.estimators import OnlineEstimators
from pacing.snapshot import Snapshot


class EngineSurface(Protocol):
    """The engine as its neighbours see it (``Engine`` is the one implementation)."""

    db: asyncpg.Pool
    pbx: Pbx
    clock: Clock
    config: EngineConfig
    floor: Floor
    calls: dict[str, Call]                       # live calls by channel id (``dialer.call.channel_id_of``)
    runners: dict[int, CampaignRunner]           # running campaigns by id
    estimators: dict[int, OnlineEstimators]      # per campaign, learnt from its calls
    answer_chances: dict[int, AnswerChances]     # per campaign: each dial's chance of an answer
    recorder: Recorder
    handoff: HandOff
    phones: OperatorPhones
    supervisor: Supervisor

    def follow(self, call: Call) -> None:
        """Follow a new (or re-attached) call: in ``calls``, and its transitions keep the floor's figures."""

    def handle_event(self, event: PbxEvent) -> None:
        """A PBX event, as if it had just arrived (recovery replays the events it held)."""

    def call_answered(self, call: Call, now: float) -> None:
        """Someone answered: to an operator, or waiting for one."""

    def call_changed(self, call: Call) -> None:
        """The call was connected or sent to the safe-harbor message: counted and recorded."""

    def call_ended(self, call: Call) -> None:
        """The call is over: its operator freed, its attempt closed, its lead settled."""

    def release_operator(self, call: Call, operator: FloorOperator, now: float) -> None:
        """The conversation is over for the operator: counted, and the wrap-up starts."""

    def count(self, campaign_id: int, what: str) -> None:
        """One more of ``what`` (an ``EngineStats`` field) for the campaign and the engine."""

    def count_call(self, call: Call, what: str) -> None:
        """The call answered, connected or abandoned, counted as a funnel (``Counts.count_call``)."""

    def wake(self, campaign_id: int) -> None:
        """Something changed the answer of the campaign's pacing: ask it again now."""

    def opt_out(self, phone: str, *, source: str) -> None:
        """The callee asked never to be called again."""

    def snapshot(self, campaign_id: int, with_estimates: bool = True) -> Snapshot:
        """The floor as the pacing policy sees it."""

    def can_originate(self) -> bool:
        """The PBX can take a call now."""
