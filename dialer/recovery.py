"""Bringing the engine's picture of its calls back in line with Asterisk.

Asterisk keeps calls going whatever happens to the engine (a lost AMI link loses events, a killed engine
its memory). The store knows which attempts are open; only the PBX knows which still have a channel and
where. So the engine asks (``Status`` with ``Variables: ATTEMPT_ID``) and rebuilds each live call there:
ringing — followed; answered, in ``dialer-answered`` — handed to a free operator now (or the message at
the deadline; the dialplan plays it itself after ``DIALER_SAFE_HARBOR_S``); in ``operator-join,<ext>`` —
connected to that operator, whose phone (``op<ext>-<n>``) is adopted; in ``dialer-safeharbor`` — abandoned;
in ``dialer-rating`` — connected, the operator done with it.

An attempt whose channel is gone ended while nobody was watching. If it had reached an operator it
stays ``connected``, with its stored times and the disposition ``unknown``, and its lead is not dialed
again; otherwise it is closed as ``lost`` and its lead settled for a retry, counted abandoned if it had
been answered or the dialplan's trace says nobody took it (``dialer.dialplan_trace``; the ledger may
over-count, never under-count), its number put on the do-not-call list if the trace says the callee opted
out. Until a recovery has seen the PBX, an open attempt keeps its lead claimed (``lists.leads.expire_leases``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial

import asyncpg

from ami.pbx import ChannelStatus, PbxError, PbxEvent, near_half
from dialer import dialplan_trace
from dialer.call import Call, CallState, attempt_of_status, channel_id_of
from dialer.config import EngineConfig
from dialer.dialplan_trace import Trace
from dialer.floor import FloorOperator, OperatorState
from dialer.surface import EngineSurface
from lists import attempts, leads
from lists.attempts import AttemptUpdate
from lists.dispositions import UNKNOWN
from pacing.estimators import OnlineEstimators

log = logging.getLogger(__name__)

_PHONE_CHANNEL = re.compile(r"^op([^-]+)-(\d+)$")     # an operator's phone, as dialer/phones.py names it


class Where(StrEnum):
    """Where a customer channel is, as Status shows it."""
    RINGING = "ringing"
    ANSWERED = "answered"        # in the answered context, waiting for the engine's Redirect
    CONFERENCE = "conference"    # in an operator's conference (extension says whose)
    SAFE_HARBOR = "safe_harbor"
    RATING = "rating"
    GONE = "gone"


@dataclass(frozen=True)
class Observed:
    where: Where
    extension: str | None = None
    seconds: int = 0


def observe(status: ChannelStatus | None, config: EngineConfig) -> Observed:
    if status is None:
        return Observed(Where.GONE)
    if status.context == config.handoff_context:
        return Observed(Where.CONFERENCE, status.exten, status.seconds)
    if status.context == config.safe_harbor_context:
        return Observed(Where.SAFE_HARBOR, seconds=status.seconds)
    if status.context == config.rating_context:
        return Observed(Where.RATING, seconds=status.seconds)
    if status.state == "Up" and status.context == config.answered_context:
        return Observed(Where.ANSWERED, seconds=status.seconds)
    return Observed(Where.RINGING, seconds=status.seconds)


@dataclass
class RecoveryReport:
    """What one recovery found: attempt ids re-attached, closed as lost, and gone after reaching an
    operator (kept connected, disposition unknown)."""
    engine: str
    reattached: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    talked: list[int] = field(default_factory=list)
    unresolved: int = 0      # open attempts left open because the PBX could not be asked


class Recovery:
    def __init__(self, engine: EngineSurface) -> None:
        self._engine = engine
        self._config = engine.config
        self._pending: dict[int, tuple[Call, Observed]] = {}   # re-attached, waiting for their campaign
        self._phones: dict[str, str] = {}                       # extension → live phone channel id
        # answered_at / connected_at the store holds for re-attached calls (wall clock), by attempt id
        self._stored: dict[int, tuple[datetime | None, datetime | None]] = {}
        # Events of calls whose state a Status answer is about to rebuild, by channel id: they are applied
        # after it (see held).
        self._holding: dict[str, list[PbxEvent]] = {}
        self.unresolved = False

    async def survey(self, holding: Iterable[str] = ()) -> dict[str, ChannelStatus] | None:
        """Live channels by Uniqueid, with ATTEMPT_ID; None if the PBX cannot be asked. Events of ``holding``
        channels wait (``held``) from the question until the caller applied the answer."""
        for channel_id in holding:
            self._holding.setdefault(channel_id, [])
        try:
            return {s.channel_id: s for s in await self._engine.pbx.status(("ATTEMPT_ID",))}
        except PbxError as exc:
            log.warning("cannot ask the PBX for its channels: %s", exc)
            return None

    def held(self, event: PbxEvent) -> bool:
        """Hold this event if its call is being rebuilt from a Status answer (True: held).

        The answer is a picture of one moment, applied later: events arriving in between, handled at once,
        would be overwritten by the older picture or act on a state it is about to change, and for a call
        not yet re-attached they would be dropped. So they wait, handled in order once the picture is
        applied: each transition of a call takes effect once, so one the picture showed changes nothing."""
        channel_id = getattr(event, "channel_id", None)
        if not self._holding or not isinstance(channel_id, str):
            return False
        events = self._holding.get(channel_id)
        if events is None:     # the far half of a customer channel?
            events = self._holding.get(near_half(channel_id))
        if events is None:
            return False
        events.append(event)
        return True

    def _release(self, channel_id: str) -> None:
        for event in self._holding.pop(channel_id, ()):
            self._engine.handle_event(event)

    async def recover(self, engine_name: str | None = None, campaign_id: int | None = None) -> RecoveryReport:
        """Resolve the open attempts of ``engine_name`` (of one campaign, if given) — this engine's previous
        run by default, or a dead engine whose campaigns this one takes over: live calls re-attached (their
        claims made ours), gone ones closed. Safe to call again: resolved attempts are not open any more."""
        engine = self._engine
        name = engine_name or self._config.name
        report = RecoveryReport(name)
        left = await attempts.open_for_engine(engine.db, name, campaign_id)
        left = [row for row in left if channel_id_of(row["id"]) not in engine.calls    # already followed
                and channel_id_of(row["id"]) not in self._holding]                      # or being recovered
        channels = await self.survey(channel_id_of(row["id"]) for row in left)
        if channels is None:
            for row in left:
                self._release(channel_id_of(row["id"]))
            self.unresolved = bool(left)
            report.unresolved = len(left)
            return report
        self.unresolved = False
        self._note_phones(channels)
        live = [row for row in left if attempt_of_status(channels.get(channel_id_of(row["id"]))) == row["id"]]
        if name != self._config.name and live:
            await _take_over(engine.db, live, from_engine=name, to_engine=self._config.name,
                             now=engine.clock.now(), lease_s=self._config.lease_s)
        for row in live:
            status = channels[channel_id_of(row["id"])]
            call = self._rebuild(row, status)
            engine.follow(call)
            engine.estimators.setdefault(call.campaign_id, OnlineEstimators())
            self._pending[row["id"]] = (call, observe(status, self._config))
            report.reattached.append(row["id"])
        live_ids = {row["id"] for row in live}
        gone = [row for row in left if row["id"] not in live_ids]
        for row in gone:
            self._release(channel_id_of(row["id"]))         # nothing to follow: its events were before the end
        unheard = [(r["id"], r["phone"]) for r in gone if r["connected_at"] is None]   # traces to read
        traces = await dialplan_trace.read(engine.pbx, unheard)
        if traces is None:                                  # left open, the next recovery decides
            self.unresolved, report.unresolved = bool(gone), len(gone)
            gone = []
        for row in gone:
            (report.talked if self._close_gone(row, name, traces.get(row["id"])) else report.lost).append(row["id"])
        if report.lost or report.talked:
            await engine.recorder.drain()   # the ledger is seeded from these rows
            await dialplan_trace.forget(engine.pbx, traces or ())   # the store holds their outcome now
        for campaign_id in list(engine.runners):
            self.resume(campaign_id)
        if left:
            log.warning("recovered the open attempts of %s: %d re-attached, %d lost, %d connected calls ended "
                        "meanwhile (disposition %s, to be set)", name, len(report.reattached), len(report.lost),
                        len(report.talked), UNKNOWN)
        return report

    def adopt_phone(self, operator: FloorOperator) -> bool:
        """The operator's phone is still in its conference (we restarted, or took over): keep it rather than
        calling the operator again. True if adopted (the operator ready, or on the call re-attached)."""
        channel_id = self._phones.pop(operator.extension, None)
        if channel_id is None:
            return False
        engine = self._engine
        engine.phones.adopt(operator, channel_id)
        now = asyncio.get_running_loop().time()
        engine.floor.set_state(operator, OperatorState.READY, now)
        return True

    def resume(self, campaign_id: int | None = None) -> None:
        """Re-attached calls of this campaign (all, with None) join the engine's normal path: a waiting one
        is handed off at once."""
        for attempt_id, (call, observed) in list(self._pending.items()):
            if campaign_id is None or call.campaign_id == campaign_id:
                del self._pending[attempt_id]
                self.apply(call, observed)
                self._release(call.channel_id)

    async def reconcile(self, sent_before: Iterable[str], lost_at: float | None = None) -> None:
        """After a re-login: what happened meanwhile to the calls in ``sent_before`` — those whose
        Originate went out before the link came back. Only they can have missed events; a call sent on
        the new link may reach Asterisk after the Status question and be missing from its answer while
        very much alive, so it must not be judged by it. ``lost_at``: loop time the link was lost."""
        engine = self._engine
        if self.unresolved:
            await self.recover()
        judged = [c for c in sent_before if c in engine.calls and c not in self._holding]
        channels = await self.survey(judged)
        try:
            if channels is None:
                return
            self._note_phones(channels)
            traced: list[int] = []
            for channel_id in judged:
                if call := engine.calls.get(channel_id):
                    seen = observe(channels.get(channel_id), self._config)
                    if seen.where is Where.GONE and call.connected_at is None and await self._traced(call):
                        traced.append(call.attempt_id)
                    self.apply(call, seen, lost_at)
            if traced:
                await engine.recorder.drain()
                await dialplan_trace.forget(engine.pbx, traced)
        finally:
            for channel_id in judged:
                self._release(channel_id)

    async def _traced(self, call: Call) -> bool:
        """Gone while the link was down: its dialplan trace stands for the UserEvents unheard. True if any."""
        trace = (await dialplan_trace.read(self._engine.pbx, [(call.attempt_id, call.phone)]) or {}).get(
            call.attempt_id)
        if trace is Trace.OPT_OUT:
            self._engine.opt_out(call.phone, source="opt-out:keypress")
        if trace is not None:
            self.message_played(call, redirect_in_flight=False)
        return trace is not None

    # ---- one call -----------------------------------------------------------------------------------

    def apply(self, call: Call, seen: Observed, lost_at: float | None = None) -> None:
        """Move the call to where Asterisk says it is, through the engine's own transitions. A call gone
        ended when the link was lost (``lost_at``), the last moment it was known alive, not at the
        reconnect: a PBX down 90 s must not add 90 s of talk."""
        engine = self._engine
        now = asyncio.get_running_loop().time()
        if seen.where is Where.GONE:
            known = [t for t in (lost_at, call.originated_at, call.answered_at, call.connected_at) if t is not None]
            if call.hang_up(min(now, max(known)) if lost_at is not None else now, 0):
                log.info("attempt %s: channel gone while unobserved; ended as %s", call.attempt_id, call.outcome)
                engine.call_ended(call)
            return
        if seen.where is Where.RINGING:
            return
        if seen.where is Where.ANSWERED:
            if call.state is CallState.ORIGINATING:
                # Answered while nobody watched, when exactly is unknown (the dialplan's own safe harbor
                # makes it under DIALER_SAFE_HARBOR_S ago): an operator now, or the message now.
                engine.handoff.answer_unseen(call)
                engine.call_answered(call, now)
                if call.state is CallState.WAITING:
                    engine.handoff.message_now(call)
            elif call.state in (CallState.HANDING_OFF, CallState.SAFE_HARBOR):
                engine.handoff.resend(call, engine.floor.operators.get(call.operator_id or -1))
            return
        if seen.where is Where.SAFE_HARBOR:
            self.message_played(call, redirect_in_flight=False)
            return
        if seen.where in (Where.CONFERENCE, Where.RATING):
            self._connected(call, seen, now)

    def message_played(self, call: Call, *, redirect_in_flight: bool = True) -> None:
        """The dialplan sent the call to the safe-harbor message itself: abandoned; an operator reserved for
        it is free again. Heard as it happens (``DialerNoOperator``), a Redirect to the operator already sent
        still takes the customer there: the call stays theirs, connected late, and counts abandoned."""
        engine = self._engine
        now = asyncio.get_running_loop().time()
        if call.state is CallState.HANDING_OFF and redirect_in_flight:
            if not call.missed_window:
                call.missed_window = True
                engine.count_call(call, "abandoned")
                engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, abandoned=True))
            return
        operator = engine.floor.operators.get(call.operator_id or -1)
        answer_unheard = call.answered_at is None
        if call.heard_message(now):
            if answer_unheard:
                # Answered while nobody was listening (link down, engine restarting): an answer all the
                # same, in the store as in the ledger that counts this call when it ends.
                engine.count_call(call, "answered")
                engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, answered_at=engine.clock.now()))
            engine.handoff.ended(call)
            if operator is not None and operator.attempt_id == call.attempt_id:
                engine.floor.drop_call(operator)
                engine.floor.set_state(operator, OperatorState.READY, now)
            engine.call_changed(call)

    def _connected(self, call: Call, seen: Observed, now: float) -> None:
        engine = self._engine
        if call.state in (CallState.CONNECTED, CallState.ENDED):
            return
        operator = engine.floor.by_extension(seen.extension) if seen.extension is not None else None
        # Answered and put through while nobody could write it down: an answer all the same, in the store as
        # in the ledger. Its moment is unknown; the moment it was found is the bound we have.
        answer_unheard = call.answered_at is None and self._stored.get(call.attempt_id, (None, None))[0] is None
        if call.state is CallState.ORIGINATING:
            call.answer(now)
        if answer_unheard:
            engine.count_call(call, "answered")
            engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, answered_at=engine.clock.now()))
        if call.state is CallState.WAITING:
            engine.handoff.ended(call)     # no longer waiting: forget its safe-harbor deadline
            call.hand_off(operator.id if operator is not None else call.operator_id or 0)
            if operator is not None:
                engine.floor.take_call(operator, call.attempt_id, call.lead_id, now)
        # Found in the conference: nobody saw when it got there, so it gives no hand-off latency figure.
        engine.handoff.answer_unseen(call)
        engine.handoff.joined(call, now)   # connected; the operator (if on our floor) is on the call
        self._known_times(call, operator, now)
        if seen.where is Where.RATING and operator is not None:
            engine.release_operator(call, operator, now)

    def _known_times(self, call: Call, operator: FloorOperator | None, now: float) -> None:
        """A re-attached call the store knew answered (and connected) keeps those moments: the operator's
        talk time, and so the handle-time estimates, count from the real start."""
        answered_at, connected_at = self._stored.pop(call.attempt_id, (None, None))
        wall_now = self._engine.clock.now()
        if answered_at is not None:
            call.answered_at = min(now, now - (wall_now - answered_at).total_seconds())
        if connected_at is not None:
            call.connected_at = min(now, now - (wall_now - connected_at).total_seconds())
            if operator is not None and operator.attempt_id == call.attempt_id:
                self._engine.floor.handle_from(operator, call.connected_at)

    def _rebuild(self, row: asyncpg.Record, status: ChannelStatus) -> Call:
        self._stored[row["id"]] = (row["answered_at"], row["connected_at"])
        loop_now = asyncio.get_running_loop().time()
        return Call(attempt_id=row["id"], channel_id=channel_id_of(row["id"]), campaign_id=row["campaign_id"],
                    lead_id=row["lead_id"], phone=row["phone"], originated_at=loop_now - status.seconds,
                    caller_id=row["caller_id"], operator_id=row["operator_id"], sent=True)

    def _close_gone(self, row: asyncpg.Record, engine_name: str, trace: Trace | None) -> bool:
        """Gone while nobody watched; True if it had reached an operator. The store says how far the call
        got; the times it holds stay (``lists.attempts`` writes them once), only the end is new.

        * Connected to an operator: it stays ``connected`` with the system disposition ``unknown`` (nobody
          recorded what was agreed; a code the operator already set stays), and its lead is settled as a
          connected call: never dialed again as if never reached.
        * Answered but never connected, or left a trace (answered unheard, nobody took it): ``lost`` and
          counted abandoned, the safe side; a trace ``opt-out`` puts the number on the do-not-call list,
          queued before the lead is settled (as the live ``DialerOptOut`` is).
        * Never answered: ``lost``, and the lead retried as after a failure.

        When it ended is unknown, so the end is put at the recovery, the one bound we know (never before
        the times already stored)."""
        engine = self._engine
        now = max([engine.clock.now(), *(t for t in (row["answered_at"], row["connected_at"]) if t is not None)])
        settle = partial(leads.settle, lead_id=row["lead_id"], engine=engine_name, now=now)
        if row["connected_at"] is not None:
            log.info("attempt %s: connected call ended while no engine ran; kept connected, disposition %s",
                     row["id"], row["disposition"] or UNKNOWN)
            code = None if row["disposition"] is not None else UNKNOWN
            engine.recorder.put_attempt(AttemptUpdate(row["id"], state="ended", ended_at=now, outcome="connected",
                                                      disposition=code))
            engine.recorder.put(f"settle lead {row['lead_id']}", partial(settle, outcome="connected",
                                                                         disposition=code))
            return True
        if trace is Trace.OPT_OUT:
            engine.opt_out(row["phone"], source="opt-out:keypress")
        answered = row["answered_at"] or (now if trace is not None else None)   # unheard: found now, the bound
        engine.recorder.put_attempt(AttemptUpdate(row["id"], state="ended", ended_at=now, outcome="lost",
                                                  answered_at=answered, abandoned=answered is not None))
        engine.recorder.put(f"settle lead {row['lead_id']}", partial(settle, outcome="failed"))
        return False

    def _note_phones(self, channels: dict[str, ChannelStatus]) -> None:
        """Operator phones alive in Asterisk that no operator of ours holds: candidates for adoption."""
        held = {o.phone_channel_id for o in self._engine.floor.operators.values() if o.phone_channel_id}
        for channel_id in channels:
            match = _PHONE_CHANNEL.match(channel_id)
            if match and channel_id not in held:
                self._phones[match.group(1)] = channel_id


async def _take_over(db: asyncpg.Pool, rows: list[asyncpg.Record], *, from_engine: str, to_engine: str,
                     now: datetime, lease_s: float) -> None:
    async with db.acquire() as conn, conn.transaction():
        await attempts.transfer(conn, attempt_ids=[r["id"] for r in rows], from_engine=from_engine,
                                to_engine=to_engine)
        await leads.transfer(conn, lead_ids=[r["lead_id"] for r in rows], from_engine=from_engine,
                             to_engine=to_engine, now=now, lease_s=lease_s)
