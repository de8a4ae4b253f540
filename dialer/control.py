"""The engine's side of the control plane (the store is the bus, DESIGN §6).

* Publishes a picture of its floor and campaigns into ``engine_picture`` and announces it with
  ``NOTIFY dialer_picture``, so views LISTEN instead of polling.
* Tells an operator's console of a change of that operator (a call handed over, wrap-up, ready, logged
  out) at once, not on the next picture: the changed entries, gathered for a few tens of milliseconds,
  go out in one statement, each as the payload of its operator's channel (``dialer/bus.py``). A burst of
  changes on a floor of thousands costs one round trip and the encoding of the entries that changed,
  never the whole floor.
* LISTENs for ``dialer_command`` (operators and supervisors) and ``campaign_changed`` (start, pause,
  live tuning) and applies them within a second; a slow poll catches anything a dropped LISTEN missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np

from dialer.bus import COMMAND_CHANNEL, NOTIFY_PAYLOAD_LIMIT, listening, operator_channel
from dialer.call import CallState
from dialer.commands import apply_command
from dialer.engine import Engine
from dialer.floor import FloorOperator, OperatorState
from dialer.groups.figures import group_docs
from dialer.metrics import pbx_links
from dialer.recorder import STORE_UNREACHABLE
from dialer.store import operator_commands, pictures
from dialer.store.kept_connection import KeptConnection
from dialer.store.operator_commands import CALL_COMMANDS, STALE_COMMAND_S
from lists import campaigns
from lists.campaigns import Campaign

log = logging.getLogger(__name__)

PICTURE_SLICE = 200     # operators' picture entries built and encoded per loop pass


class ControlPlane:
    def __init__(self, engine: Engine, *, picture_s: float | None = 1.0, poll_s: float = 5.0,
                 gather_s: float | None = 0.02) -> None:
        """``picture_s``: the whole picture's period (None: never). ``gather_s``: how long an operator's
        change waits for others to go out with it (None: operators' changes wait for the picture)."""
        self._engine = engine
        self._picture_s = picture_s
        self._poll_s = poll_s
        self._gather_s = gather_s
        self._changed: set[int] = set()     # operators whose entry changed since it was last sent
        self._change = asyncio.Event()
        self._schema = ""                   # the store's schema, named in every operator's payload
        self._wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        # The picture's own connection: a pool busy with the recorder and the claims must not make it late.
        self._picture_conn = KeptConnection(engine.db)
        self._tasks = engine.supervisor.tasks()
        self.applied = 0
        self._refused: dict[int, Campaign] = {}   # campaigns that failed to start or pause, as they were

    async def start(self) -> None:
        await self._listen()
        self._tasks.keep(self._follow, "control-follow")
        if self._picture_s:
            await self._picture_conn.open()
            self._tasks.keep(self._publish, "control-publish")
        if self._gather_s is not None:
            self._schema = await pictures.current_schema(self._engine.db)
            self._engine.floor.subscribe(self._operator_changed)
            self._tasks.keep(self._publish_changes, "control-operators")

    async def close(self) -> None:
        self._engine.floor.unsubscribe(self._operator_changed)
        await self._tasks.cancel_all()
        await self._picture_conn.close()
        if listening(self._conn):
            assert self._conn is not None
            self._conn.remove_termination_listener(self._notified)
            await self._conn.remove_listener(COMMAND_CHANNEL, self._notified)
            await self._conn.remove_listener("campaign_changed", self._notified)
        if self._conn is not None:
            with contextlib.suppress(asyncpg.InterfaceError):    # a lost connection the pool took back
                await self._engine.db.release(self._conn)
            self._conn = None

    async def _listen(self) -> None:
        conn = await self._engine.db.acquire()
        try:
            await conn.add_listener(COMMAND_CHANNEL, self._notified)
            await conn.add_listener("campaign_changed", self._notified)
            conn.add_termination_listener(self._notified)    # lost: the loop listens again at once
        except BaseException:
            await self._engine.db.release(conn)
            raise
        self._conn = conn

    async def _listen_again(self) -> None:
        """A LISTEN connection the store dropped (a restart, a network cut) hears nothing more: without a new
        one every command would wait for the slow poll."""
        lost, self._conn = self._conn, None
        if lost is not None:
            with contextlib.suppress(Exception):     # a dead connection: the pool only forgets it
                await self._engine.db.release(lost)
        await self._listen()
        log.info("control plane: listening again for commands and campaign changes")

    def listening_pid(self) -> int | None:
        """The store's process that LISTENs for the engine's commands, None while there is none."""
        return self._conn.get_server_pid() if listening(self._conn) else None

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _follow(self) -> None:
        while True:
            try:   # asyncio.timeout, not wait_for (see dialer/runner.py)
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                if not listening(self._conn):
                    await self._listen_again()
                await self.sync_campaigns()
                await self.apply_commands()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("control plane: store unreachable (%s); retrying", type(exc).__name__)

    async def sync_campaigns(self) -> None:
        """Run what is running, pause what is not; a changed campaign's settings apply at once."""
        engine = self._engine
        rows = await campaigns.all_campaigns(engine.db)
        for campaign in rows:
            runner = engine.runners.get(campaign.id)
            if self._refused.get(campaign.id) == campaign:
                continue          # failed as it is; logged once, tried again when it changes
            try:
                if campaign.state == "running":
                    if runner is None or runner.campaign != campaign:
                        await engine.run_campaign(campaign)
                        if runner is None and campaign.id in engine.runners:
                            who = await campaigns.last_changed_by(engine.db, campaign.id)
                            log.info("campaign %s runs here (last change by %s)", campaign.name,
                                     who or "an unaudited change")
                elif runner is not None:
                    await engine.pause_campaign(campaign.id)
                    # a supervisor's pause from the watch view or the command line: the log says who
                    who = await campaigns.last_changed_by(engine.db, campaign.id)
                    log.info("campaign %s %s by %s: its calls in progress finish", campaign.name, campaign.state,
                             who or "an unaudited change")
            except STORE_UNREACHABLE:
                raise
            except Exception:
                # One campaign that cannot start (settings its pacing refuses) must not keep the others
                # from being followed; it is tried again when it changes.
                self._refused[campaign.id] = campaign
                log.exception("campaign %s could not be %s here", campaign.name,
                              "started or updated" if campaign.state == "running" else "paused")
        await engine.groups.sync()      # shares, reserve, group target, membership (dialer group …)

    async def apply_commands(self) -> None:
        engine = self._engine
        ids = list(engine.floor.operators)
        pending = await operator_commands.pending(engine.db, ids)
        for row in pending:
            age = (engine.clock.now() - row.created_at).total_seconds() if row.created_at is not None else 0.0
            if row.command in CALL_COMMANDS and age > STALE_COMMAND_S:
                result = (f"sent at {row.created_at:%H:%M:%S} UTC while no engine was running; do it again if "
                          "it still stands")
                log.info("control plane: command %s %s of operator %s refused: %.0f s old", row.id, row.command,
                         row.operator_id, age)
                await operator_commands.answer(engine.db, row.id, now=engine.clock.now(), result=result)
                continue
            try:
                result = await apply_command(engine, row.operator_id, row.command, row.args,
                                             person_id=row.person_id)
            except STORE_UNREACHABLE:
                raise
            except Exception as exc:
                # Answered, not retried: a command that fails once (a disposition the campaign no longer
                # knows) fails every time, and would hold up every command behind it.
                log.error("control plane: command %s %s of operator %s could not be applied", row.id,
                          row.command, row.operator_id, exc_info=exc)
                result = f"could not be applied: {exc}"
            await operator_commands.answer(engine.db, row.id, now=engine.clock.now(), result=result)
            self.applied += 1

    async def _publish(self) -> None:
        assert self._picture_s
        while True:
            await asyncio.sleep(self._picture_s)
            # Thousands of operators' entries take tens of milliseconds to build and encode: a slice per loop
            # pass, so that the hand-offs and events of that second are not held up behind the picture.
            entries = await encoded_operators(self._engine)
            text = encode(picture_doc(self._engine, operators=False), operators=entries)
            try:
                async with self._picture_conn.use() as conn:
                    await pictures.publish(conn, engine=self._engine.config.name, at=self._engine.clock.now(),
                                           doc=text)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass  # the next second tries again; the view shows the age of what it has

    def _operator_changed(self, operator: FloorOperator, _previous: OperatorState, _now: float) -> None:
        if operator.simulated:
            return   # the engine's operator model has no console to tell
        self._changed.add(operator.id)   # the entry is built when it goes out, so it is the latest
        self._change.set()

    async def _publish_changes(self) -> None:
        assert self._gather_s is not None
        while True:
            await self._change.wait()
            await asyncio.sleep(self._gather_s)   # the rest of a burst (hand-off, connect) goes in the same statement
            self._change.clear()
            changed, self._changed = self._changed, set()
            channels, payloads = self.operator_news(changed)
            if not channels:
                continue
            try:
                # on the pool, as the picture: the control plane's LISTEN connection stays a listener
                await pictures.tell_operators(self._engine.db, channels, payloads)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass  # the next picture carries these entries

    def operator_news(self, operator_ids: set[int]) -> tuple[list[str], list[str]]:
        """The channel and payload of each operator's entry, as it is now."""
        engine = self._engine
        loop_now = asyncio.get_running_loop().time()
        at = engine.clock.now().isoformat()
        channels: list[str] = []
        payloads: list[str] = []
        for operator_id in sorted(operator_ids):
            operator = engine.floor.operators.get(operator_id)
            if operator is None:
                continue
            payload = encode({"schema": self._schema, "engine": engine.config.name, "at": at,
                              "operator": operator_doc(operator, loop_now)})
            if len(payload.encode()) >= NOTIFY_PAYLOAD_LIMIT:
                continue   # a reason too long to tell at once: the picture carries it
            channels.append(operator_channel(operator_id))
            payloads.append(payload)
        return channels, payloads


def encode(doc: dict[str, Any], *, operators: str | None = None) -> str:
    """The picture as JSON. Figures computed with numpy arrive as numpy scalars (``bool_``, ``float64``),
    which ``json`` refuses: they are written as the Python values they hold. ``operators``: the operators'
    entries already encoded (``encoded_operators``), put in the place of the document's own."""
    if operators is None:
        return json.dumps(doc, default=_plain)
    keys = list(doc)
    at = keys.index("operators")
    head = json.dumps({key: doc[key] for key in keys[:at]}, default=_plain)
    tail = json.dumps({key: doc[key] for key in keys[at + 1:]}, default=_plain)
    return "".join((head[:-1], ", " if at else "", '"operators": ', operators, ", " if tail != "{}" else "",
                    tail[1:]))


async def encoded_operators(engine: Engine) -> str:
    """Every operator's picture entry, as the JSON list ``encode`` writes, built a slice per loop pass."""
    operators = list(engine.floor.operators.values())
    parts = []
    for start in range(0, len(operators), PICTURE_SLICE):
        if start:
            await asyncio.sleep(0)
        loop_now = asyncio.get_running_loop().time()
        entries = [operator_doc(operator, loop_now) for operator in operators[start:start + PICTURE_SLICE]]
        parts.append(json.dumps(entries, default=_plain)[1:-1])
    return "[" + ", ".join(part for part in parts if part) + "]"


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"picture field of type {type(value).__name__} is not JSON serializable")


def picture_doc(engine: Engine, *, operators: bool = True) -> dict[str, Any]:
    """The engine's picture; ``operators=False``: without the operators' entries (an empty list in their
    place, for ``encode`` to fill with ``encoded_operators``)."""
    loop_now = asyncio.get_running_loop().time()
    now: datetime = engine.clock.now()
    campaigns_doc = []
    for runner in engine.runners.values():
        campaign = runner.campaign
        # kept by the calls' transitions (dialer/sections.py): no walk over thousands of calls each second
        by_state = engine.floor.section(campaign.id).by_state
        calls = {state.value: by_state[state] for state in CallState if state is not CallState.ENDED}
        answers, abandons = runner.ledger.counts(loop_now)
        hour_answers, hour_abandons = runner.ledger.counts_since(loop_now - 3600)
        local = now.astimezone(ZoneInfo(campaign.timezone))
        since_midnight = (local - local.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
        today_answers, today_abandons = runner.ledger.counts_since(loop_now - since_midnight)
        estimates = engine.estimators[campaign.id].estimates()
        settings = asdict(runner.settings)
        settings.pop("mode", None)
        campaigns_doc.append({
            "id": campaign.id, "name": campaign.name, "mode": campaign.mode,
            "effective_mode": "progressive" if runner.fallback else campaign.mode,
            "alpha": runner.alpha, "settings": settings, "estimates": asdict(estimates), "calls": calls,
            "abandonment": {
                "window_hours": runner.settings.window_hours, "answers": answers, "abandons": abandons,
                "rate": abandons / answers if answers else 0.0, "cap": runner.settings.abandon_cap,
                "last_hour": {"answers": hour_answers, "abandons": hour_abandons},
                "today": {"answers": today_answers, "abandons": today_abandons},   # campaign's local day
            },
            "totals": engine.campaign_totals(campaign.id),
            "nothing_to_dial": runner.exhausted,    # its last claim found no lead dialable now
        })
    operators_doc = [operator_doc(operator, loop_now) for operator in engine.floor.operators.values()] \
        if operators else []
    ownership = engine.ownership
    return {"engine": engine.config.name, "at": now.isoformat(), "campaigns": campaigns_doc,
            "operators": operators_doc, "groups": group_docs(engine, loop_now),   # per pool (campaign groups)
            # the Asterisk servers it cannot reach now: no call is placed there until the link is back
            "pbx_down": [server for server, link in pbx_links(engine) if not link.connected],
            # several engines on one store: what this one owns and has taken over (dialer/ownership/campaigns.py)
            "ownership": None if ownership is None else {"owned": ownership.owned, "takeovers": ownership.takeovers,
                                                         "losses": ownership.losses}}


def _state_began(operator: FloorOperator) -> float:
    """When the operator's state began, as their timer shows it: a call a recovery re-attached began before
    this engine did (its connect is in the store), and the conversation, with its timer, goes on."""
    if operator.state is OperatorState.ON_CALL and operator.talk_started is not None:
        return min(operator.since, operator.talk_started)
    return operator.since


def operator_doc(operator: FloorOperator, loop_now: float) -> dict[str, Any]:
    """One operator's entry of the picture (also sent alone when it changes)."""
    return {
        "id": operator.id, "name": operator.name, "extension": operator.extension,
        "state": operator.state.value, "pause_reason": operator.pause_reason,
        # the phone in the conference (a ready operator without it waits as logged_in), and why the
        # engine logged the operator out, for their console
        "phone_up": operator.phone_up, "logged_out_why": operator.logged_out_why,
        # the last call whose wrap-up time ran out before a code: coded no_code until one is chosen
        "wrap_up_ran_out": operator.wrap_up_ran_out,
        "since_s": loop_now - _state_began(operator), "campaigns": sorted(operator.campaigns),
        # the call's lead through its wrap-up too (the ended call has left engine.calls by then)
        "attempt_id": operator.attempt_id, "lead_id": operator.lead_id,
        "calls": operator.calls, "talk_s": operator.talk_s, "occupancy": operator.occupancy(loop_now),
    }
