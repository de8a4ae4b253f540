from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance import store
from compliance.dnc import DncError, RegistryImportError, StaleRegistryError
from compliance.rules import CampaignRules

pytestmark = pytest.mark.db

NOW = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)  # 12:00 in New York, a Tuesday


async def make_campaign(conn: asyncpg.Connection, name: str = "c1") -> int:
    return await conn.fetchval(
        "INSERT INTO campaign (name, channel_template, caller_id) VALUES ($1, 'Local/{phone}@t', '+12125550100')"
        " RETURNING id",
        name,
    )


async def make_lead(conn: asyncpg.Connection, campaign_id: int, phone: str, timezone: str | None = None) -> int:
    return await conn.fetchval(
        "INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, $3) RETURNING id", campaign_id, phone,
        timezone,
    )


_ATTEMPT = """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, originated_at,
                                   answered_at, connected_at, ended_at, outcome, abandoned)
              VALUES ($1, $2, $3, '+12125550100', 'e1', $4, $4, $5, $6, $4::timestamptz + interval '2 minutes',
                      $7, $8)"""


def attempt_row(
    lead_id: int, campaign_id: int, phone: str, at: datetime, *, outcome: str, abandoned: bool = False
) -> tuple:
    answered = at + timedelta(seconds=10) if outcome in ("connected", "abandoned", "machine") else None
    connected = answered + timedelta(seconds=1) if outcome == "connected" else None
    return (lead_id, campaign_id, phone, at, answered, connected, outcome, abandoned)


async def add_attempt(conn: asyncpg.Connection, *args: object, **kwargs: object) -> None:
    await conn.execute(_ATTEMPT, *attempt_row(*args, **kwargs))  # type: ignore[arg-type]


# ---- DNC ---------------------------------------------------------------------------------------


async def test_company_dnc_blocks_every_campaign_and_campaign_dnc_only_its_own(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        a, b = await make_campaign(conn, "a"), await make_campaign(conn, "b")
        await store.add_dnc(conn, ["+12125550111"], source="opt-out:operator", now=NOW)
        await store.add_dnc(conn, ["(212) 555-0122"], scope=f"campaign:{a}", source="manual", now=NOW, region="US")
        assert await store.is_dnc(conn, "+12125550111", a) and await store.is_dnc(conn, "+12125550111", b)
        assert await store.is_dnc(conn, "+12125550122", a)
        assert not await store.is_dnc(conn, "+12125550122", b)
        assert not await store.is_dnc(conn, "+12125550133", a)


async def test_adding_a_dnc_number_twice_keeps_one_entry_per_source(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        assert await store.add_dnc(conn, ["+12125550111", "+1 212 555 0111"], source="manual", now=NOW) == 1
        assert await store.add_dnc(conn, ["+12125550111"], source="manual", now=NOW) == 0
        assert await store.add_dnc(conn, ["+12125550111"], source="opt-out:keypress", now=NOW) == 1
        entries = await store.list_dnc(conn, phone="+12125550111")
    assert sorted(e.source for e in entries) == ["manual", "opt-out:keypress"]


async def test_one_bad_number_adds_nothing_and_names_the_value(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        with pytest.raises(DncError, match="not-a-number"):
            await store.add_dnc(conn, ["+12125550111", "not-a-number"], source="manual", now=NOW)
        with pytest.raises(DncError, match="scope"):
            await store.add_dnc(conn, ["+12125550111"], scope="everyone", source="manual", now=NOW)
        assert await store.list_dnc(conn) == []


# ---- registries ----------------------------------------------------------------------------------


async def test_registry_import_replaces_the_previous_copy_and_keeps_other_sources(
    db: asyncpg.Pool, tmp_path: Path
) -> None:
    first = tmp_path / "ftc-1.txt"
    first.write_text("# area code, number\n212,5550111\n212,5550122\n\n")
    second = tmp_path / "ftc-2.txt"
    second.write_text("+12125550122\n2125550133\n")
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        await store.add_dnc(conn, ["+12125550111"], source="opt-out:operator", now=NOW)
        copy = await store.import_registry(conn, first, name="us-national", copy_date=date(2026, 5, 30), now=NOW)
        assert copy.entries == 2
        await store.import_registry(conn, second, name="us-national", copy_date=date(2026, 6, 1), now=NOW)
        assert await store.is_dnc(conn, "+12125550111", c)  # the opt-out stays
        assert await store.is_dnc(conn, "+12125550133", c)
        registry = [e.phone for e in await store.list_dnc(conn) if e.source == "registry:us-national"]
        assert sorted(registry) == ["+12125550122", "+12125550133"]


async def test_registry_file_with_a_bad_line_imports_nothing_and_names_the_line(
    db: asyncpg.Pool, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("2125550111\nhello\n")
    async with db.acquire() as conn:
        with pytest.raises(RegistryImportError, match="line 2"):
            await store.import_registry(conn, bad, name="us-national", copy_date=date(2026, 6, 1), now=NOW)
        assert await store.list_dnc(conn) == [] and await store.registries(conn) == []


async def test_stale_registry_copy_is_refused_at_import(db: asyncpg.Pool, tmp_path: Path) -> None:
    f = tmp_path / "old.txt"
    f.write_text("2125550111\n")
    async with db.acquire() as conn:
        with pytest.raises(StaleRegistryError, match="32 days"):
            await store.import_registry(conn, f, name="us-national", copy_date=date(2026, 5, 1), now=NOW)


async def test_dialing_is_refused_once_the_registry_copy_passes_31_days(db: asyncpg.Pool, tmp_path: Path) -> None:
    f = tmp_path / "copy.txt"
    f.write_text("2125550111\n")
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        await store.import_registry(conn, f, name="us-national", copy_date=date(2026, 6, 1), now=NOW)
        assert await store.registry_verdict(conn, campaign_id=c, now=NOW)
        await store.require_fresh_registries(conn, campaign_id=c, now=datetime(2026, 7, 2, 23, tzinfo=UTC))
        with pytest.raises(store.StaleRegistryRefusal, match="us-national"):
            await store.require_fresh_registries(conn, campaign_id=c, now=datetime(2026, 7, 3, 0, tzinfo=UTC))


async def test_registry_age_limit_is_configurable_per_campaign_and_a_named_registry_must_exist(
    db: asyncpg.Pool, tmp_path: Path
) -> None:
    f = tmp_path / "copy.txt"
    f.write_text("2125550111\n")
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        await store.import_registry(conn, f, name="us-national", copy_date=date(2026, 5, 25), now=NOW)
        await store.set_campaign_rules(conn, c, CampaignRules(preset="US", registry_max_age_days=7))
        verdict = await store.registry_verdict(conn, campaign_id=c, now=NOW)
        assert not verdict and "8 days" in verdict.reason
        await store.set_campaign_rules(conn, c, CampaignRules(preset="US", registries=("state-fl",)))
        verdict = await store.registry_verdict(conn, campaign_id=c, now=NOW)
        assert not verdict and "never imported" in verdict.reason


# ---- ledger ------------------------------------------------------------------------------------

outcomes = st.lists(
    st.tuples(
        st.sampled_from(["connected", "abandoned", "machine", "busy", "no_answer"]),
        st.integers(0, 40 * 24 * 60),  # minutes before NOW
    ),
    max_size=40,
)


# The fixture's schema is shared by the examples; each example empties it first.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=outcomes)
async def test_ledger_counts_live_answers_and_abandons_of_the_window_only(
    db: asyncpg.Pool, history: list[tuple[str, int]]
) -> None:
    async with db.acquire() as conn:
        await conn.execute("TRUNCATE campaign CASCADE")
        c = await make_campaign(conn)
        lead = await make_lead(conn, c, "+12125550111")
        await conn.executemany(_ATTEMPT, [
            attempt_row(lead, c, "+12125550111", NOW - timedelta(minutes=minutes), outcome=outcome,
                        abandoned=outcome == "abandoned")
            for outcome, minutes in history
        ])
        window = timedelta(days=30)
        got = await store.ledger(conn, campaign_id=c, now=NOW, window=window)
        uk = await store.ledger(conn, campaign_id=c, now=NOW, window=window, amd_false_positive_rate=0.1)
    # answered 10 s after the attempt: inside the window when NOW − window < answered_at ≤ NOW
    inside = [o for o, m in history if timedelta(minutes=m) - timedelta(seconds=10) < window and m * 60 >= 10]
    live = sum(o in ("connected", "abandoned") for o in inside)
    abandons = sum(o == "abandoned" for o in inside)
    machines = sum(o == "machine" for o in inside)
    assert got == (live, abandons)
    fp = -(-machines // 10)  # ceil(machines × 0.1)
    assert uk == (live + fp, abandons + fp)


async def test_ledger_of_a_campaign_group_adds_its_campaigns(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        a, b = await make_campaign(conn, "a"), await make_campaign(conn, "b")
        la, lb = await make_lead(conn, a, "+12125550111"), await make_lead(conn, b, "+12125550122")
        await add_attempt(conn, la, a, "+12125550111", NOW - timedelta(hours=1), outcome="abandoned", abandoned=True)
        await add_attempt(conn, lb, b, "+12125550122", NOW - timedelta(hours=1), outcome="connected")
        assert await store.ledger(conn, campaign_id=a, now=NOW, window=timedelta(days=1)) == (1, 1)
        assert await store.ledger(conn, campaign_id=a, campaign_ids=[a, b], now=NOW,
                                  window=timedelta(days=1)) == (2, 1)


# ---- per-number history and the UK repeat block -----------------------------------------------


async def test_uk_repeat_block_holds_a_number_72h_after_an_abandoned_call(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        blocked = await make_lead(conn, c, "+447911123456")
        free = await make_lead(conn, c, "+447911123457")
        await add_attempt(conn, blocked, c, "+447911123456", NOW - timedelta(hours=71), outcome="abandoned",
                          abandoned=True)
        await add_attempt(conn, free, c, "+447911123457", NOW - timedelta(hours=73), outcome="abandoned",
                          abandoned=True)
        assert await store.repeat_blocked_phones(conn, now=NOW) == {"+447911123456"}
        condition = store.repeat_block_condition(phone_sql="l.phone", now_param="$2", block=timedelta(hours=72))
        dialable = await conn.fetch(f"SELECT l.phone FROM lead l WHERE l.campaign_id = $1 AND {condition}", c, NOW)
        assert [r["phone"] for r in dialable] == ["+447911123457"]
        history = await store.contact_history(conn, ["+447911123456", "+447911123457"], now=NOW)
    uk = CampaignRules(preset="UK")
    assert not uk.check("+447911123456", NOW, zone="Europe/London", history=history["+447911123456"])
    assert uk.check("+447911123457", NOW, zone="Europe/London", history=history["+447911123457"])


async def test_contact_history_feeds_the_florida_three_a_day_cap(db: asyncpg.Pool) -> None:
    rules = CampaignRules(preset="US")
    phone = "+13055550111"  # Miami
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        lead = await make_lead(conn, c, phone, "America/New_York")
        for hours in (20, 10, 2):
            await add_attempt(conn, lead, c, phone, NOW - timedelta(hours=hours), outcome="no_answer")
        history = (await store.contact_history(conn, [phone], now=NOW))[phone]
    verdict = rules.check(phone, NOW, zone="America/New_York", history=history)
    assert not verdict and "Florida" in verdict.reason
    assert verdict.retry_at == NOW - timedelta(hours=20) + timedelta(hours=24)
    assert rules.check("+12125550111", NOW, zone="America/New_York", history=history)  # New York: no such cap


# ---- report ------------------------------------------------------------------------------------


async def test_report_shows_rates_per_window_and_catches_calls_outside_hours_and_to_dnc(
    db: asyncpg.Pool,
) -> None:
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        await store.set_campaign_rules(conn, c, CampaignRules(preset="US"))
        ny = await make_lead(conn, c, "+12125550111", "America/New_York")
        la = await make_lead(conn, c, "+13105550111", "America/Los_Angeles")
        held = await make_lead(conn, c, "+12125550199", "America/New_York")
        for i in range(30):
            await add_attempt(conn, ny, c, "+12125550111", NOW - timedelta(days=2, minutes=i), outcome="connected")
        await add_attempt(conn, ny, c, "+12125550111", NOW - timedelta(hours=1), outcome="abandoned", abandoned=True)
        # 06:00 in Los Angeles: a call the claim should never have let out.
        await add_attempt(conn, la, c, "+13105550111", datetime(2026, 6, 2, 13, 0, tzinfo=UTC), outcome="busy")
        # Idaho: 08:45 in Boise but 07:45 in Los Angeles, and the number may be in either.
        zones = await conn.fetchval("INSERT INTO timezone_set (zones) VALUES ($1) RETURNING id",
                                    ["America/Boise", "America/Los_Angeles"])
        idaho = await conn.fetchval("INSERT INTO lead (campaign_id, phone, timezone_set) VALUES ($1, $2, $3)"
                                    " RETURNING id", c, "+12085550111", zones)
        await add_attempt(conn, idaho, c, "+12085550111", datetime(2026, 6, 2, 14, 45, tzinfo=UTC), outcome="busy")
        await store.add_dnc(conn, ["+12125550199"], source="manual", now=NOW - timedelta(days=5))
        await store.add_dnc(conn, ["+13105550111"], source="manual", now=NOW - timedelta(days=5))
        report = await store.compliance_report(conn, campaign_id=c, now=NOW)
    legal, day, to_date = report.rows
    assert legal.legal and legal.label.startswith("legal") and "30 days" in legal.label
    assert (legal.live_answers, legal.abandons) == (31, 1)
    assert legal.rate == pytest.approx(1 / 31) and legal.over_cap
    assert (day.live_answers, day.abandons) == (1, 1) and not day.over_cap  # only the legal window counts
    assert legal.calls_outside_hours == 2 and legal.calls_to_dnc == 1
    assert to_date.attempts == 33
    assert report.leads_held_by_dnc == 2 and held
    assert not report.clean
    assert set(report.outside_hours_examples) == {
        "+13105550111 at 2026-06-02T13:00:00+00:00", "+12085550111 at 2026-06-02T14:45:00+00:00"}


async def test_report_of_a_clean_campaign_is_clean(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        await store.set_campaign_rules(conn, c, CampaignRules(preset="UK", amd_false_positive_rate=0.05))
        lead = await make_lead(conn, c, "+447911123456", "Europe/London")
        for i in range(40):
            await add_attempt(conn, lead, c, "+447911123456", NOW - timedelta(hours=3, minutes=i),
                              outcome="connected")
        for i in range(10):
            await add_attempt(conn, lead, c, "+447911123456", NOW - timedelta(hours=4, minutes=i), outcome="machine")
        report = await store.compliance_report(conn, campaign_id=c, now=NOW)
    legal = report.rows[0]
    assert "24 h" in legal.label and len(report.rows) == 2
    assert legal.false_positive_estimate == 1 and (legal.live_answers, legal.abandons) == (41, 1)
    assert legal.calls_outside_hours == 0 and legal.calls_to_dnc == 0 and not legal.over_cap
    assert report.clean


async def test_a_debtor_spoken_to_on_another_number_is_not_called_again_that_day(db: asyncpg.Pool) -> None:
    from dataclasses import dataclass, field

    @dataclass
    class Claimed:
        id: int
        phone: str
        timezone: str | None = "Europe/Moscow"
        fields: dict = field(default_factory=dict)
        timezones: tuple[str, ...] = ()

    noon = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a Wednesday
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        debtor = await make_lead(conn, c, "+74959374955", "Europe/Moscow")
        other = await make_lead(conn, c, "+74959374966", "Europe/Moscow")
        # Yesterday evening the debtor was reached on their mobile (an alternate number of the same lead).
        await add_attempt(conn, debtor, c, "+79161234567", noon - timedelta(hours=16), outcome="connected")
        screened = await store.screen_claimed(
            conn, CampaignRules(preset="RU"), [Claimed(debtor, "+74959374955"), Claimed(other, "+74959374966")],
            now=noon)
    assert [lead.id for lead in screened.dialable] == [other]
    [(lead, verdict)] = screened.refused
    assert lead.id == debtor and "230-FZ" in verdict.reason
    assert verdict.retry_at == noon - timedelta(hours=16) + timedelta(hours=24, seconds=11)


async def test_report_judges_past_calls_by_the_law_not_by_todays_campaign_windows(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        c = await make_campaign(conn)
        lead = await make_lead(conn, c, "+12125550111", "America/New_York")
        await add_attempt(conn, lead, c, "+12125550111", NOW - timedelta(hours=2), outcome="busy")  # 10:00
        await store.set_campaign_rules(conn, c, CampaignRules(preset="US", windows="13:00-17:00"))
        report = await store.compliance_report(conn, campaign_id=c, now=NOW)
    assert report.rows[0].calls_outside_hours == 0
