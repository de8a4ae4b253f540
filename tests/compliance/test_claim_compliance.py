"""The compliance promise, end to end through the real claim: no claim ever returns a lead outside its calling
window or on a do-not-call list — when the claim is fed the way compliance says (open zones of the
campaign's zones at the claim's moment; DNC in the claim's SQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compliance import store
from compliance.caps import ContactHistory
from compliance.hours import may_call, open_zones, zone_key
from compliance.rules import CampaignRules
from compliance.zones import zones_for_number
from dialer.claims import Claimer
from lists import campaigns, leads
from tests.compliance.strategies import campaign_windows, holidays, moments_for

pytestmark = pytest.mark.db

NUMBERS = (
    "+12125550111",  # New York
    "+13105550111",  # Los Angeles
    "+12085550111",  # Idaho: Mountain and Pacific
    "+13055550111",  # Miami
    "+442079460111",  # London
    "+919812345678",  # Kolkata, +5:30
    "+61881234567",  # Adelaide or Perth
    "+74959374955",  # Moscow
    "+79161234567",  # a Russian mobile: eleven zones
)

async def add_lead(conn: asyncpg.Connection, campaign_id: int, phone: str, zones: list[str]) -> None:
    """As the list import stores them: one zone in lead.timezone, several as a shared timezone_set."""
    if len(zones) == 1:
        await conn.execute("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, $3)",
                           campaign_id, phone, zones[0])
        return
    set_id = await conn.fetchval(
        """INSERT INTO timezone_set (zones) VALUES ($1) ON CONFLICT (zones) DO UPDATE SET zones = EXCLUDED.zones
           RETURNING id""", sorted(zones))
    await conn.execute("INSERT INTO lead (campaign_id, phone, timezone_set) VALUES ($1, $2, $3)",
                       campaign_id, phone, set_id)


lead_specs = st.lists(
    st.tuples(
        st.sampled_from(NUMBERS),
        st.integers(100, 999),  # varies the last digits so numbers differ
        st.sampled_from(["none", "none", "none", "company", "this campaign", "other campaign"]),
        st.booleans(),  # zone column given (first zone only) instead of every zone of the number
    ),
    min_size=3,
    max_size=25,
    unique_by=lambda s: (s[0], s[1]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=lead_specs, preset=st.sampled_from(["US", "UK", "RU"]), data=st.data())
async def test_no_claim_returns_a_lead_outside_its_window_or_on_a_dnc_list(
    db: asyncpg.Pool, specs, preset: str, data: st.DataObject
) -> None:
    # Half the moments in the hours when most of these numbers are open, so claims are rarely empty.
    afternoon = st.builds(lambda d, m: datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(minutes=m),
                          st.dates(min_value=datetime(2024, 1, 1).date(), max_value=datetime(2027, 12, 31).date()),
                          st.integers(13 * 60, 20 * 60))
    now = data.draw(st.one_of(moments_for("America/New_York"), afternoon))
    rules = CampaignRules(preset=preset, windows=data.draw(st.one_of(st.none(), campaign_windows)),
                          holidays=data.draw(holidays))
    async with db.acquire() as conn:
        await conn.execute("TRUNCATE campaign, dnc CASCADE")
        ids = [await conn.fetchval(
            "INSERT INTO campaign (name, channel_template, caller_id) VALUES ($1, 'Local/{phone}@t', '+1212555')"
            " RETURNING id", name) for name in ("this", "other")]
        this, other = ids
        expected_zone: dict[str, str] = {}
        dnc_phones: set[str] = set()
        for base, tail, dnc_kind, one_zone in specs:
            phone = base[:-3] + str(tail)
            zones = list(zones_for_number(phone))[:1] if one_zone else list(zones_for_number(phone))
            await add_lead(conn, this, phone, zones)
            expected_zone[phone] = zone_key(zones)
            scope = {"company": "company", "this campaign": f"campaign:{this}",
                     "other campaign": f"campaign:{other}"}.get(dnc_kind)
            if scope:
                await store.add_dnc(conn, [phone], scope=scope, source="test", now=now)
                if dnc_kind != "other campaign":
                    dnc_phones.add(phone)
        allowed = open_zones(await leads.zones_in_play(conn, campaign_id=this), now, rules.policy())
        claimed = await leads.claim(conn, campaign_id=this, engine="e1", n=100, now=now,
                                    allowed_timezones=sorted(allowed))
    got = {lead.phone for lead in claimed}
    for phone in got:
        assert phone not in dnc_phones
        assert may_call(expected_zone[phone], now, rules.policy()), (phone, expected_zone[phone], now)
    # …and the filter is not simply refusing everything: every lead the rules allow is claimed.
    should = {p for p, z in expected_zone.items() if p not in dnc_phones and may_call(z, now, rules.policy())}
    assert got == should
    event(f"claimed {min(len(got), 3)}+ leads" if got else "claimed none")


async def test_an_opt_out_taken_during_a_call_holds_from_the_next_claim(db: asyncpg.Pool) -> None:
    now = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)
    async with db.acquire() as conn:
        campaign = await conn.fetchval(
            "INSERT INTO campaign (name, channel_template, caller_id) VALUES ('c', 'Local/{phone}@t', '+1212555')"
            " RETURNING id")
        await add_lead(conn, campaign, "+12125550111", ["America/New_York"])
        await add_lead(conn, campaign, "+12125550122", ["America/New_York"])
        first = await leads.claim(conn, campaign_id=campaign, engine="e1", n=1, now=now)
        # The callee presses the opt-out key in the safe-harbor message; the lead goes back to the list.
        await store.add_dnc(conn, [first[0].phone], source="opt-out:keypress", now=now)
        await leads.release(conn, lead_ids=[first[0].id], engine="e1")
        again = await leads.claim(conn, campaign_id=campaign, engine="e1", n=10, now=now)
    assert [lead.phone for lead in again] == [p for p in ("+12125550111", "+12125550122") if p != first[0].phone]


async def test_engine_round_claims_open_zones_then_screens_out_florida_after_8pm(db: asyncpg.Pool) -> None:
    evening = datetime(2026, 6, 2, 20, 30, tzinfo=ZoneInfo("America/New_York"))
    async with db.acquire() as conn:
        campaign = await conn.fetchval(
            "INSERT INTO campaign (name, channel_template, caller_id) VALUES ('c', 'Local/{phone}@t', '+1212555')"
            " RETURNING id")
        await store.set_campaign_rules(conn, campaign, CampaignRules(preset="US"))
        await add_lead(conn, campaign, "+12125550111", ["America/New_York"])  # New York: until 21:00
        await add_lead(conn, campaign, "+13055550111", ["America/New_York"])  # Miami: Florida law, until 20:00
        await add_lead(conn, campaign, "+13105550111", ["America/Los_Angeles"])  # 17:30 there
        await add_lead(conn, campaign, "+18085550111", ["Pacific/Honolulu"])  # 14:30 there
        rules = await store.campaign_rules(conn, campaign)
        permit = await store.before_claim(conn, campaign_id=campaign, now=evening,
                                          zones=await leads.zones_in_play(conn, campaign_id=campaign))
        assert permit.may_claim
        claimed = await leads.claim(conn, campaign_id=campaign, engine="e1", n=10, now=evening,
                                    allowed_timezones=permit.allowed_timezones)
        screened = await store.screen_claimed(conn, rules, claimed, now=evening)
    assert sorted(lead.phone for lead in screened.dialable) == ["+12125550111", "+13105550111", "+18085550111"]
    [(miami, verdict)] = screened.refused
    assert miami.phone == "+13055550111" and "Florida" in verdict.reason
    assert verdict.retry_at == datetime(2026, 6, 3, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    # An hour later New York is closed too: the claim itself no longer offers it.
    later = evening + timedelta(hours=1)
    assert "America/New_York" not in (await _permit(db, campaign, later)).allowed_timezones
    assert later.astimezone(UTC).hour == 1


async def _permit(db: asyncpg.Pool, campaign: int, now: datetime) -> store.ClaimPermit:
    async with db.acquire() as conn:
        return await store.before_claim(conn, campaign_id=campaign, now=now,
                                        zones=await leads.zones_in_play(conn, campaign_id=campaign))


async def test_the_claim_brings_the_same_contact_history_the_caps_would_look_up(db: asyncpg.Pool) -> None:
    now = datetime(2026, 3, 2, 11, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    async with db.acquire() as conn:
        this, other = [await conn.fetchval(
            "INSERT INTO campaign (name, channel_template, caller_id) VALUES ($1, 'Local/{phone}@t', '+7495')"
            " RETURNING id", name) for name in ("this", "other")]
        for phone in ("+74959370001", "+74959370002", "+74959370003"):
            await add_lead(conn, this, phone, ["Europe/Moscow"])
        first = await conn.fetchval("SELECT id FROM lead WHERE phone = '+74959370001'")
        await add_lead(conn, other, "+74959370002", ["Europe/Moscow"])
        elsewhere = await conn.fetchval("SELECT id FROM lead WHERE campaign_id = $1", other)

        async def attempt(lead: int, campaign: int, phone: str, ago: timedelta, *, talked: bool = False,
                          abandoned: bool = False) -> None:
            at = now - ago
            await conn.execute(
                """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, state, claimed_at,
                                        answered_at, connected_at, abandoned)
                   VALUES ($1, $2, $3, '+7495', 'e0', 'ended', $4, $5, $6, $7)""",
                lead, campaign, phone, at, at if talked or abandoned else None, at if talked else None, abandoned)

        await attempt(first, this, "+74959370001", timedelta(hours=2), talked=True)
        await attempt(first, this, "+74959379999", timedelta(days=2))           # the lead's other number
        await attempt(first, this, "+74959370001", timedelta(days=40))          # older than the lookback
        await attempt(elsewhere, other, "+74959370002", timedelta(hours=1), abandoned=True)  # same number
        claimed = await leads.claim(conn, campaign_id=this, engine="e1", n=10, now=now,
                                    history_since=now - store.HISTORY_LOOKBACK)
        looked_up = await store.lead_contact_history(conn, [(lead.id, lead.phone) for lead in claimed], now=now)
    assert len(claimed) == 3
    for lead in claimed:
        assert ContactHistory(*lead.contact_history) == looked_up[lead.id]
    by_phone = {lead.phone: ContactHistory(*lead.contact_history) for lead in claimed}
    assert len(by_phone["+74959370001"].attempts) == 2 and len(by_phone["+74959370001"].conversations) == 1
    assert len(by_phone["+74959370002"].abandons) == 1
    assert by_phone["+74959370003"] == ContactHistory()


async def test_engine_round_holds_back_a_russian_debtor_already_talked_to_today(db: asyncpg.Pool) -> None:
    """The whole round the engine runs (dialer.claims.Claimer), the contact history read by the claim itself."""
    now = datetime(2026, 3, 2, 11, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    async with db.acquire() as conn:
        campaign_id = await conn.fetchval(
            """INSERT INTO campaign (name, channel_template, caller_id, timezone, default_region)
               VALUES ('debts', 'Local/{phone}@t', '+74950000000', 'Europe/Moscow', 'RU') RETURNING id""")
        await store.set_campaign_rules(conn, campaign_id, CampaignRules(preset="RU"))
        for phone in ("+74959370001", "+74959370002"):
            await add_lead(conn, campaign_id, phone, ["Europe/Moscow"])
        talked = await conn.fetchval("SELECT id FROM lead WHERE phone = '+74959370001'")
        await conn.execute(
            """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, state, claimed_at, answered_at,
                                    connected_at)
               VALUES ($1, $2, '+74959370001', '+7495', 'e0', 'ended', $3, $3, $3)""",
            talked, campaign_id, now - timedelta(hours=1))
        campaign = await campaigns.get_by_id(conn, campaign_id)
        dials = await Claimer(campaign_id).claim(conn, campaign, wanted=10, now=now, engine="e1", pbx=None,
                                                 lease_s=60)
        held = await conn.fetchrow("SELECT state, next_due_at FROM lead WHERE id = $1", talked)
    assert [dial.lead.phone for dial in dials] == ["+74959370002"]
    assert held["state"] == "ready" and held["next_due_at"] > now
