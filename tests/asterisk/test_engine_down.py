"""Calls answered while the engine is down, against a real Asterisk: the dialplan's safety net plays the
safe-harbor message, one callee presses 9, and both calls have ended before the engine is back. Their
UserEvents were heard by nobody; the trace the dialplan left in AstDB is what makes the restarted engine
count both as abandoned and put the one who pressed 9 on the do-not-call list.

Timed by the calls' own state (originated in the store, gone from Asterisk, as the observer of all its
events says), never by the clock.
"""

from __future__ import annotations

import asyncio

from compliance import store as compliance_store
from dialer.call import channel_id_of
from tests.asterisk.campaign import numbers, set_up_campaign
from tests.asterisk.conftest import Store
from tests.asterisk.engine_run import DialerRun
from tests.asterisk.observer import Observer, wait_until
from tests.asterisk.pbx import Asterisk
from tests.asterisk.test_faults import attempts, ended_cleanly, until

RING_S = 8       # long enough to kill the engine between the Originate and the answer


async def test_calls_answered_while_the_engine_is_down_count_abandoned_and_keep_the_opt_out(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    [opts_out] = numbers("opts_out", 1, talk_s=RING_S)
    [listens] = numbers("listens", 1, talk_s=RING_S)
    campaign_id = await set_up_campaign(store.db, [opts_out, listens], operators_count=2)
    await dialer.start()

    async def both_ringing() -> bool:
        return await store.db.fetchval("SELECT count(*) = 2 FROM attempt WHERE originated_at IS NOT NULL")

    await until(both_ringing, 30, "both calls originated")
    dialer.kill()
    assert dialer.proc is not None
    await dialer.proc.wait()
    before = await attempts(store.db)
    assert all(r["answered_at"] is None and r["ended_at"] is None for r in before.values()), before
    heard: list[str] = []
    observer.listeners.append(lambda h: h.name == "UserEvent" and heard.append(h.fields.get("UserEvent", "")))
    await wait_until(lambda: any(channel_id_of(i) in observer.live for i in before), 30, "a call to be up")
    await wait_until(lambda: not any(channel_id_of(i) in observer.live for i in before), 60,
                     "both calls answered, told the safe-harbor message and ended while no engine runs")
    assert sorted(heard) == sorted(["DialerAnswered"] * 2 + ["DialerNoOperator"] * 2
                                   + ["DialerSafeHarborPlayed"] * 2 + ["DialerOptOut"]), heard

    await dialer.start()                                     # recovery done before it says it runs
    rows = await attempts(store.db)
    by_phone = {rows[i]["phone"]: rows[i] for i in before}
    for phone, row in by_phone.items():
        assert (row["outcome"], row["abandoned"]) == ("lost", True), (phone, row)
        assert row["answered_at"] is not None and row["connected_at"] is None, (phone, row)
    async with store.db.acquire() as conn:
        assert await compliance_store.is_dnc(conn, by_phone[opts_out]["phone"], campaign_id)
        assert not await compliance_store.is_dnc(conn, by_phone[listens]["phone"], campaign_id)
    lead = await store.db.fetchrow("SELECT state FROM lead WHERE phone = $1", by_phone[opts_out]["phone"])
    again = await store.db.fetchval("SELECT count(*) FROM attempt WHERE phone = $1", by_phone[opts_out]["phone"])
    assert again == 1, f"the number that opted out was dialed again (lead {lead['state']})"
    await ended_cleanly(dialer)
