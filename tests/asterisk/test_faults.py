"""Faults against a real Asterisk with the project's configuration, each while a campaign runs through
``dialer run``: an operator's phone hanging up mid-call, ``core stop now`` with calls up and Asterisk
started again, ``core stop gracefully``, and the engine killed (SIGKILL) mid-call and started again.

Each fault is timed by the calls' own state (a customer connected to an operator, as the store and the
observer of all of Asterisk's events both say), never by the clock. Afterwards the campaign must reach its
end: every lead has had its call, every connected call keeps its operator, no customer is handed to a
conference without a phone in it, and the engine log has no ERROR.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from dialer.call import channel_id_of
from tests.asterisk.campaign import campaign_over, numbers, set_up_campaign
from tests.asterisk.conftest import Store
from tests.asterisk.engine_run import DialerRun
from tests.asterisk.observer import AmiLink, Observer, wait_until
from tests.asterisk.pbx import Asterisk

CONNECTED_NOW = """SELECT a.id, a.lead_id, a.operator_id, a.answered_at, a.connected_at, o.extension
                   FROM attempt a JOIN operator o ON o.id = a.operator_id
                   WHERE a.connected_at IS NOT NULL AND a.ended_at IS NULL ORDER BY a.id"""


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for: {what}")
        await asyncio.sleep(0.2)


async def a_call_with_its_operator(db: asyncpg.Pool, observer: Observer) -> list[asyncpg.Record]:
    """Wait until a customer talks to an operator: connected in the store, and in the operator's conference
    with the phone, as Asterisk says. The calls connected at that moment."""
    rows: list[asyncpg.Record] = []

    async def check() -> bool:
        nonlocal rows
        rows = await db.fetch(CONNECTED_NOW)
        return any(channel_id_of(r["id"]) in observer.customers_in(f"op{r['extension']}")
                   and observer.phones_in(f"op{r['extension']}") for r in rows)

    await until(check, 60, "a customer in conference with an operator")
    return rows


async def finish(db: asyncpg.Pool, dialer: DialerRun, timeout_s: float = 150) -> None:
    async def over() -> bool:
        assert dialer.running, f"dialer run exited: {dialer.tail()}"
        return await campaign_over(db)

    await until(over, timeout_s, f"the campaign to finish; engine log: {dialer.tail(1500)}")


async def attempts(db: asyncpg.Pool) -> dict[int, dict[str, Any]]:
    return {r["id"]: dict(r) for r in await db.fetch("SELECT * FROM attempt ORDER BY id")}


def every_lead_talked(leads: list[asyncpg.Record]) -> list[str]:
    """The leads (all of them answer) that never reached an operator."""
    return [f"{r['phone']} {r['state']} due {r['next_due_at']:%H:%M:%S} after {r['outcomes']}" for r in leads
            if not r["talked"]]


LEADS_TALKED = """
    SELECT l.phone, l.state, l.next_due_at,
           (SELECT string_agg(a.outcome || coalesce('/' || a.originate_reason, ''), ' ' ORDER BY a.id)
            FROM attempt a WHERE a.lead_id = l.id) AS outcomes,
           EXISTS (SELECT 1 FROM attempt a WHERE a.lead_id = l.id AND a.outcome = 'connected') AS talked
    FROM lead l"""


async def stop_now(asterisk: Asterisk) -> None:
    """``core stop now`` from the CLI, as an administrator would; back when the process has gone."""
    command = asterisk.cli_nowait("core stop now")
    assert await asyncio.to_thread(asterisk.wait_exit, 20) is not None, "asterisk did not stop"
    await asyncio.to_thread(command.wait, 10)


async def start_again(asterisk: Asterisk, observer: Observer) -> None:
    """Start Asterisk again and wait until the observer hears the new one (its picture starts empty)."""
    sessions = observer.sessions
    await asyncio.to_thread(asterisk.start)
    await wait_until(lambda: observer.sessions > sessions, 10, "the observer to log in again")


async def ended_cleanly(dialer: DialerRun) -> None:
    took = await dialer.stop()
    assert took is not None and took < 5.0, f"dialer run took {took} s to stop: {dialer.tail()}"
    assert dialer.errors() == [], dialer.log()[-4000:]


# ---- an operator's phone hangs up in the middle of a call ----------------------------------------------

async def test_an_operator_phone_hanging_up_mid_call_is_called_back_or_logged_out(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    ghosts = observer.watch_for_ghosts()
    await set_up_campaign(store.db, numbers("answer", 10, talk_s=6), operators_count=2)
    await dialer.start()
    [call, *_] = [r for r in await a_call_with_its_operator(store.db, observer)
                  if observer.phones_in(f"op{r['extension']}")]
    conference = f"op{call['extension']}"
    [phone] = observer.phones_in(conference)
    asterisk.cli(f"channel request hangup {observer.members[conference][phone]}")
    await wait_until(lambda: phone not in observer.phones_in(conference), 5, "the phone to leave")

    async def back_or_out() -> bool:
        if observer.phones_in(conference):
            return True
        state = await store.db.fetchval("""SELECT state FROM operator_session WHERE operator_id = $1
                                             ORDER BY id DESC LIMIT 1""", call["operator_id"])
        return state == "logged_out"

    await until(back_or_out, 45, f"{conference}'s phone called back, or its operator logged out")
    await finish(store.db, dialer)
    rows = await attempts(store.db)
    assert rows[call["id"]]["outcome"] == "connected" and rows[call["id"]]["operator_id"] == call["operator_id"]
    assert ghosts == []
    assert all(r["operator_id"] is not None for r in rows.values() if r["outcome"] == "connected")
    assert every_lead_talked(await store.db.fetch(LEADS_TALKED)) == []
    await ended_cleanly(dialer)


# ---- core stop now with calls up, and Asterisk started again ---------------------------------------------

async def test_core_stop_now_with_calls_up_and_asterisk_started_again(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    await set_up_campaign(store.db, numbers("answer", 10, talk_s=8) + numbers("no_answer", 1),
                          operators_count=3)
    extensions = [r["extension"] for r in await store.db.fetch("SELECT extension FROM operator")]
    await dialer.start()
    up = await a_call_with_its_operator(store.db, observer)
    await stop_now(asterisk)
    await start_again(asterisk, observer)
    ghosts = observer.watch_for_ghosts()
    await wait_until(lambda: all(observer.phones_in(f"op{ext}") for ext in extensions), 30,
                     "every operator's phone back in its conference")
    await finish(store.db, dialer)
    rows = await attempts(store.db)
    for call in up:      # the calls Asterisk cut keep what happened: a customer talked to this operator
        row = rows[call["id"]]
        assert (row["outcome"], row["operator_id"], row["connected_at"]) == \
            ("connected", call["operator_id"], call["connected_at"]), row
    assert ghosts == []
    leads = await store.db.fetch(LEADS_TALKED)
    assert every_lead_talked([r for r in leads if r["phone"].startswith("+1")]) == []
    await ended_cleanly(dialer)


# ---- core stop gracefully while the campaign runs ------------------------------------------------------

async def test_core_stop_gracefully_while_a_campaign_runs(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    link = await AmiLink(asterisk.port).start()
    dialer.env["DIALER_AMI_PORT"] = str(link.port)
    try:
        await set_up_campaign(store.db, numbers("answer", 12, talk_s=5), operators_count=3)
        await dialer.start()
        await a_call_with_its_operator(store.db, observer)
        began = await store.db.fetchval("SELECT now()")
        stopping = asterisk.cli_nowait("core stop gracefully")

        async def refused_one() -> bool:    # the engine tried to dial while Asterisk refused everything
            return bool(await store.db.fetchval(
                "SELECT count(*) FROM attempt WHERE claimed_at > $1 AND ended_at IS NOT NULL", began))

        await until(refused_one, 40, "an attempt while Asterisk shuts down")
        # The link breaks while Asterisk drains: it greets the engine's new connection but refuses its Login
        # with the same words it refuses everything else ("Asterisk is shutting down").
        heard = len(link.heard)
        link.drop()
        await wait_until(lambda: b"Asterisk is shutting down" in link.heard[heard:], 10,
                         "Asterisk to refuse the engine's new Login")
        # The operators' phones (Wait 86400) hold a graceful stop up for ever: the administrator ends it.
        await wait_until(lambda: not observer.customers_up(), 30, "the customers to finish their calls")
        await stop_now(asterisk)
        await asyncio.to_thread(stopping.wait, 10)
        await start_again(asterisk, observer)
        await finish(store.db, dialer)
        rows = await attempts(store.db)
        during = [r for r in rows.values() if r["claimed_at"] > began and r["originated_at"] is None]
        assert all(r["outcome"] == "not_dialed" for r in during), [(r["id"], r["outcome"]) for r in during]
        assert not [r for r in rows.values() if r["outcome"] == "failed"]
        assert every_lead_talked(await store.db.fetch(LEADS_TALKED)) == []
        await ended_cleanly(dialer)
    finally:
        await link.close()


# ---- the engine killed mid-call and started again --------------------------------------------------------

async def test_engine_killed_mid_call_and_started_again(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    await set_up_campaign(store.db, numbers("answer", 9, talk_s=4), operators_count=3)
    await dialer.start()
    before = await a_call_with_its_operator(store.db, observer)
    dialer.kill()
    assert dialer.proc is not None
    await dialer.proc.wait()
    # The customers who were talking hang up while no engine runs.
    await wait_until(lambda: not any(channel_id_of(r["id"]) in observer.live for r in before), 30,
                     "the connected calls to end while the engine is dead")
    await dialer.start()
    await finish(store.db, dialer)
    rows = await attempts(store.db)
    for call in before:
        row = rows[call["id"]]
        assert (row["outcome"], row["operator_id"], row["answered_at"], row["connected_at"]) == \
            ("connected", call["operator_id"], call["answered_at"], call["connected_at"]), row
        assert row["disposition"] == "unknown", row
        again = [r["id"] for r in rows.values() if r["lead_id"] == call["lead_id"] and r["id"] != call["id"]]
        assert again == [], f"lead {call['lead_id']} reached an operator and was dialed again"
        due = await store.db.fetchval("""SELECT state = 'ready' AND coalesce(next_due_at, now())
                                                  < now() + interval '1 hour' FROM lead WHERE id = $1""",
                                        call["lead_id"])
        assert not due, f"lead {call['lead_id']} reached an operator and is due again"
    hand_offs = {r["id"]: (r["connected_at"] - r["answered_at"]).total_seconds() for r in rows.values()
                 if r["connected_at"] is not None and r["answered_at"] is not None}
    assert max(hand_offs.values()) < 2.0, hand_offs
    await ended_cleanly(dialer)


# ---- Ctrl-C (SIGTERM) with calls up, and the engine started again ------------------------------------------

async def test_dialer_run_stops_within_5_s_with_calls_up_and_resumes_them(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    await set_up_campaign(store.db, numbers("answer", 6, talk_s=8) + numbers("no_answer", 1),
                          operators_count=3)
    await dialer.start()
    up = await a_call_with_its_operator(store.db, observer)
    took = await dialer.stop()
    assert took is not None and took < 5.0, f"dialer run took {took} s to stop: {dialer.tail()}"
    await dialer.start()
    await finish(store.db, dialer)
    rows = await attempts(store.db)
    for call in up:
        row = rows[call["id"]]
        assert (row["outcome"], row["operator_id"], row["connected_at"]) == \
            ("connected", call["operator_id"], call["connected_at"]), row
    leads = await store.db.fetch(LEADS_TALKED)
    assert every_lead_talked([r for r in leads if r["phone"].startswith("+1")]) == []
    await ended_cleanly(dialer)
