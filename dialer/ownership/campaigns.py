"""Which engine runs which campaign when several engines share one store.

Each running campaign is owned by exactly one engine: the one holding a session-level PostgreSQL
advisory lock on it, on a dedicated connection. Only the owner runs the campaign's pacing loop (and logs
its operators in); the others try again every ``beat_s`` and at once when an owner announces a release.

How an owner loses a campaign, and why each way is safe:

* **It dies** (kill -9, host gone with a TCP reset, ``db`` closed): PostgreSQL ends its session and frees
  the lock; another engine takes it at its next beat and recovers what the dead one left
  (``dialer/ownership/takeover.py``).
* **It is alive but stuck** (event loop blocked, network partition without a reset — PostgreSQL may not
  notice a silent peer for hours of TCP keepalive): its heartbeat in ``campaign_owner`` goes stale.
  After ``stale_s`` by the database's clock another engine terminates the stale owner's lock session
  (``pg_terminate_backend``; the engines' database role needs the right to signal its own sessions,
  which a role has by default) and takes the lock. Takeover then takes at most ``stale_s + beat_s``.
* **Fencing**: every claim of leads checks, in its own transaction, that ``campaign_owner`` still
  carries this engine's epoch (``fence``, ``FOR SHARE``: a takeover waits for a claim in progress). A
  stuck owner that wakes up after losing the campaign therefore claims nothing; its next heartbeat
  finds the lock session gone and stops its pacing loops.

Time: ``beat_s`` is loop time (how often we look); staleness is the database's wall clock, the one
clock all engines share. The 10-second takeover promise is wall-clock, so ownership is meant for
engines on a real-time loop (``dialer run``); a virtual-time day (``dialer demo``) runs one engine alone
without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import asyncpg

from dialer.claims import Fence
from dialer.dialing import CampaignOwnership as Ownership
from dialer.ownership.takeover import TakingOver, recover_campaign
from dialer.store import ownership as rows
from dialer.store.ownership import Owner, still_owner
from lists import campaigns
from lists.campaigns import Campaign

log = logging.getLogger(__name__)

# Advisory locks are per database, not per schema: the namespace includes the schema, so two stores in
# one database (tests, the demo) never contend. Campaign ids beyond 2**31 share a key with a smaller one,
# which can only delay a takeover, never let two engines own one campaign (the row is per campaign).
# A campaign in a group (shared operators, one pacing loop) is locked through its group: session locks
# count, so one engine takes every member it can, and another engine none until all are released.
NAMESPACE = "dialer.campaign:"
GROUP_NAMESPACE = "dialer.group:"
RELEASED_CHANNEL = "campaign_owner_free"
_STORE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class OwnedEngine(TakingOver, Protocol):
    """What ownership uses of the engine (``dialer.engine.Engine``): it starts and pauses campaigns through
    it, and attaches itself so the engine asks it before running one."""

    async def run_campaign(self, campaign: Campaign) -> None: ...

    async def pause_campaign(self, campaign_id: int) -> None: ...

    def attach_ownership(self, ownership: Ownership) -> None: ...


@dataclass(frozen=True)
class OwnershipSettings:
    beat_s: float = 1.0        # loop time: heartbeat of owned campaigns, retry for the others
    stale_s: float = 5.0       # database wall clock: an owner silent this long loses its campaigns


class CampaignOwnership:
    """Attach with ``CampaignOwnership(engine)`` before ``engine.start()``; the engine then asks it
    before running a campaign (``acquire``), gives campaigns back through it (``release``) and checks
    ``fence`` in every claim."""

    def __init__(self, engine: OwnedEngine, settings: OwnershipSettings | None = None) -> None:
        self._engine = engine
        self.settings = settings or OwnershipSettings()
        self._conn: asyncpg.Connection | None = None
        self._namespaces: tuple[int, int] = (0, 0)   # first halves of the lock keys: campaigns, groups
        self._keys: dict[int, tuple[int, int]] = {}     # campaigns owned → the lock taken for them
        self._lock = asyncio.Lock()              # one query at a time on the dedicated connection
        self._epochs: dict[int, int] = {}        # campaigns this engine owns → the epoch it holds
        self._unrecovered: dict[int, str] = {}   # owned, but the dead owner's calls not yet resolved → its name
        self._wake = asyncio.Event()
        self._tasks = engine.supervisor.tasks()
        self.takeovers = 0                       # campaigns taken from an engine that did not release them
        self.losses = 0                          # campaigns this engine lost without releasing them
        self._lost: set[int] = set()             # lost so, not yet taken back (the log says when they are)
        engine.attach_ownership(self)

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._connect()
        self._tasks.keep(self._run, "ownership")

    async def close(self, keep: set[int] | frozenset[int] = frozenset()) -> None:
        """Give every campaign back (announced, so another engine takes it at once) and stop. A campaign in
        ``keep`` still has calls in flight that this engine leaves on the PBX: it is not marked released, so
        the engine that takes it next recovers them (``dialer/ownership/takeover.py``)."""
        await self._tasks.cancel_all()
        for campaign_id in list(self._epochs):
            if campaign_id not in keep:
                await self.release(campaign_id)
        async with self._lock:
            if self._conn is not None:
                try:
                    await self._conn.remove_listener(RELEASED_CHANNEL, self._notified)
                    await self._engine.db.release(self._conn)   # asyncpg's reset unlocks all advisory locks
                except _STORE_ERRORS:
                    pass
                self._conn = None

    def owns(self, campaign_id: int) -> bool:
        return campaign_id in self._epochs

    @property
    def owned(self) -> list[int]:
        return sorted(self._epochs)

    # ---- acquire, release, fence -----------------------------------------------------------------

    async def acquire(self, campaign_id: int) -> bool:
        """Own the campaign if nobody else does (or its owner went stale); True when it may run here.
        On a takeover the previous owner's open attempts and leases of this campaign are recovered before
        the first dial; while the PBX cannot be asked which of its calls are alive, the campaign stays
        ours but does not run (dialing now could call a person still on the line), and every beat tries
        again."""
        acquired, dead = await self._take(campaign_id)
        if not acquired or dead is None:
            return acquired
        try:
            recovered = await recover_campaign(self._engine, dead_engine=dead, campaign_id=campaign_id)
        except _STORE_ERRORS as exc:
            log.warning("campaign %s: recovery of engine %s's calls failed (%s); trying again",
                        campaign_id, dead, type(exc).__name__)
            recovered = False
        if recovered:
            self._unrecovered.pop(campaign_id, None)
            return campaign_id in self._epochs
        self._unrecovered[campaign_id] = dead
        return False

    async def _take(self, campaign_id: int) -> tuple[bool, str | None]:
        """Lock and record: (ours now?, the engine whose calls must be recovered first, if any)."""
        async with self._lock:
            if campaign_id in self._epochs:
                return True, self._unrecovered.get(campaign_id)
            conn = self._conn
            if conn is None:
                return False, None
            try:
                key = await self._key_of(conn, campaign_id)
                got = await self._try_lock(conn, key)
                if not got and await self._fence_out_stale_owner(conn, key):
                    got = await self._try_lock(conn, key)
                if not got:
                    return False, None
                self._keys[campaign_id] = key
                previous = await self._record_owner(conn, campaign_id)
            except _STORE_ERRORS as exc:
                log.warning("ownership: store unreachable while acquiring campaign %s (%s)",
                            campaign_id, type(exc).__name__)
                await self._drop_connection()
                return False, None
        if previous is None or previous == self._engine.config.name:
            return True, None
        self.takeovers += 1
        log.warning("campaign %s: taken over from engine %s, which stopped without releasing it",
                    campaign_id, previous)
        return True, previous

    async def release(self, campaign_id: int) -> None:
        """Given up cleanly (pause, stop): the successor has nothing of ours to recover, and calls we
        still have in progress finish here."""
        self._unrecovered.pop(campaign_id, None)
        epoch = self._epochs.pop(campaign_id, None)
        key = self._keys.pop(campaign_id, None)
        if epoch is None or key is None:
            return
        async with self._lock:
            if self._conn is None:
                return
            try:
                await rows.release(self._conn, campaign_id, self._engine.config.name, epoch, key,
                                   channel=RELEASED_CHANNEL)
            except _STORE_ERRORS:
                await self._drop_connection()    # the session, and the lock with it, is gone anyway

    def claim_fence(self, campaign_id: int) -> Fence | None:
        """What a claim checks, in its own statement, to take leads of this campaign; None: not ours."""
        epoch = self._epochs.get(campaign_id)
        if epoch is None:
            return None
        return Fence(self._engine.config.name, epoch, partial(self.fence, campaign_id=campaign_id))

    async def fence(self, conn: asyncpg.Connection, campaign_id: int) -> bool:
        """Inside a claim's transaction: is the campaign still ours? ``FOR SHARE`` makes a takeover wait
        until this claim commits, so its recovery sees the claimed leads."""
        epoch = self._epochs.get(campaign_id)
        if epoch is not None and await still_owner(conn, campaign_id, self._engine.config.name, epoch):
            return True
        if epoch is not None:
            log.warning("campaign %s: another engine owns it now; no more claims here", campaign_id)
            self._tasks.spawn(self._lose([campaign_id]), name=f"lose-{campaign_id}")
        return False

    # ---- the beat --------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.settings.beat_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._conn is None:
                try:
                    await self._connect()
                except _STORE_ERRORS:
                    continue        # the store is away; no campaign is ours meanwhile
            await self._heartbeat()
            await self._take_free_campaigns()

    async def _heartbeat(self) -> None:
        """Prove we are alive for the campaigns we own; whatever is no longer ours stops here."""
        if not self._epochs or self._conn is None:
            return
        try:
            async with self._lock, asyncio.timeout(self.settings.stale_s / 2):
                held = await rows.heartbeat(self._conn, self._engine.config.name)
        except _STORE_ERRORS as exc:
            # No heartbeat means another engine may take our campaigns: stop dialing them first.
            log.warning("ownership: heartbeat failed (%s); this engine gives up its campaigns until the "
                        "store is back", type(exc).__name__)
            await self._drop_connection()
            await self._lose(list(self._epochs))
            return
        await self._lose([c for c, epoch in self._epochs.items() if (c, epoch) not in held])

    async def _take_free_campaigns(self) -> None:
        try:
            running = await campaigns.running(self._engine.db)
        except _STORE_ERRORS:
            return
        for campaign in running:
            if campaign.id not in self._epochs or campaign.id in self._unrecovered:
                try:
                    await self._engine.run_campaign(campaign)     # asks acquire(); runs it only if ours
                except _STORE_ERRORS as exc:
                    log.warning("campaign %s: could not start it here (%s); next beat tries again",
                                campaign.name, type(exc).__name__)
                    continue
                if campaign.id in self._lost and self.owns(campaign.id):
                    self._lost.discard(campaign.id)
                    log.info("campaign %s: owned by this engine again; dialing resumes", campaign.name)

    async def _lose(self, campaign_ids: list[int]) -> None:
        for campaign_id in campaign_ids:
            key = self._keys.pop(campaign_id, None)
            self._unrecovered.pop(campaign_id, None)
            if self._epochs.pop(campaign_id, None) is None:
                continue
            if key is not None and self._conn is not None:   # our session may still hold it: let it go
                try:
                    async with self._lock:
                        await rows.unlock(self._conn, key)
                except _STORE_ERRORS:
                    await self._drop_connection()
            self.losses += 1
            self._lost.add(campaign_id)
            log.warning("campaign %s: no longer owned by this engine; its pacing loop stops (calls in "
                        "progress finish)", campaign_id)
            await self._engine.pause_campaign(campaign_id)

    # ---- the dedicated connection -------------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await self._engine.db.acquire()
        try:
            self._namespaces = await rows.lock_namespaces(conn, NAMESPACE, GROUP_NAMESPACE)
            await conn.add_listener(RELEASED_CHANNEL, self._notified)
        except BaseException:
            await self._engine.db.release(conn)
            raise
        self._conn = conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._keys.clear()           # the session's locks end with it
        if conn is not None:
            try:
                await asyncio.wait_for(self._let_go(conn), timeout=1.0)
            except (*_STORE_ERRORS, asyncio.CancelledError):
                conn.terminate()

    async def _let_go(self, conn: asyncpg.Connection) -> None:
        """Back to the pool not listening (a live one: the heartbeat may fail on a slow store)."""
        with contextlib.suppress(*_STORE_ERRORS):     # dead, or given back already: nothing listens
            await conn.remove_listener(RELEASED_CHANNEL, self._notified)
        await self._engine.db.release(conn)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _key_of(self, conn: asyncpg.Connection, campaign_id: int) -> tuple[int, int]:
        group_id = await rows.group_of(conn, campaign_id)
        if group_id is not None:
            return self._namespaces[1], _lock_id(group_id)
        return self._namespaces[0], _lock_id(campaign_id)

    async def _try_lock(self, conn: asyncpg.Connection, key: tuple[int, int]) -> bool:
        return await rows.try_lock(conn, key)

    async def _record_owner(self, conn: asyncpg.Connection, campaign_id: int) -> str | None:
        """Write ourselves into the campaign's row (a new epoch); returns the engine that held it without
        releasing it, if any."""
        epoch, before = await rows.record_owner(conn, campaign_id, self._engine.config.name)
        self._epochs[campaign_id] = epoch
        if before is None or before.released:
            return None
        return before.engine

    async def _fence_out_stale_owner(self, conn: asyncpg.Connection, key: tuple[int, int]) -> bool:
        """The lock is held. If its holder's heartbeat is older than ``stale_s`` (database clock), end
        the holder's lock session so the lock is free. Only the session that really holds this lock is
        terminated (a reused pid is left alone); any of its owner rows tells its heartbeat (one UPDATE
        beats them all)."""
        pid = await rows.stale_holder(conn, key, self.settings.stale_s)
        if pid is None:
            return False
        log.warning("lock %s: its owner's heartbeat is older than %.0f s; ending its lock session (pid %s)",
                    key, self.settings.stale_s, pid)
        return await rows.terminate(conn, pid)

    async def owners(self) -> list[Owner]:
        """Every campaign's owner row, for views and metrics."""
        return await rows.owners(self._engine.db)


def _lock_id(campaign_id: int) -> int:
    return campaign_id & 0x7FFFFFFF
