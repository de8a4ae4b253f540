"""The abandonment figures from the attempt rows: the ledger over one window, and the compliance report over
the legal window, the last 24 h and the campaign to date (with calls outside hours and to DNC numbers)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg

from compliance import dnc
from compliance.abandonment import estimated_false_positives, window_rate
from compliance.hours import may_call
from compliance.report import ComplianceReport, WindowRow
from compliance.rules import CampaignRules
from compliance.store.dnc_lists import registry_verdict
from compliance.store.rules import campaign_rules
from compliance.verdict import ComplianceError, require_aware

# A live answer: answered by a person (not a machine) and its fate known (connected or abandoned or over).
_LIVE = "outcome IS DISTINCT FROM 'machine' AND (ended_at IS NOT NULL OR connected_at IS NOT NULL OR abandoned)"


async def ledger(
    conn: asyncpg.Connection,
    *,
    campaign_id: int,
    now: datetime,
    window: timedelta,
    campaign_ids: Sequence[int] | None = None,
    amd_false_positive_rate: float = 0.0,
) -> tuple[int, int]:
    """(live answers, abandons) answered in ``(now − window, now]`` for the campaign (or a group).

    With an AMD false-positive rate (UK), the estimated people among machine answers are added to both:
    they were live calls that got no operator."""
    require_aware(now)
    answers = await _answers(conn, list(campaign_ids) if campaign_ids else [campaign_id], now - window, now,
                             amd_false_positive_rate)
    return answers.live, answers.abandons



async def answered_since(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_ids: Sequence[int],
                         since: datetime) -> list[tuple[datetime, bool]]:
    """(answered at, abandoned) of every ended answer after ``since`` but a machine's, oldest first: what an
    engine's ledger (``dialer/ledger.py``) reloads at start."""
    rows = await conn.fetch(
        """SELECT answered_at, abandoned FROM attempt
           WHERE campaign_id = ANY($1::bigint[]) AND answered_at > $2 AND ended_at IS NOT NULL
             AND outcome IS DISTINCT FROM 'machine'
           ORDER BY answered_at""",
        list(campaign_ids), since)
    return [(r["answered_at"], r["abandoned"]) for r in rows]

@dataclass(frozen=True)
class _Answers:
    live: int             # live answers, the estimated people among machine answers included
    abandons: int         # likewise
    machines: int         # machine answers as the AMD said
    estimate: int         # people the AMD took for machines (UK: a rate of its verdicts)


async def _answers(conn: asyncpg.Connection, campaign_ids: list[int], since: datetime, now: datetime,
                   amd_false_positive_rate: float) -> _Answers:
    """The ledger's counts over answers in ``(since, now]``: what the cap is measured on."""
    row = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE {_LIVE}) AS live,
                   count(*) FILTER (WHERE {_LIVE} AND abandoned) AS abandons,
                   count(*) FILTER (WHERE outcome = 'machine') AS machines
            FROM attempt
            WHERE campaign_id = ANY($1::bigint[]) AND answered_at > $2 AND answered_at <= $3""",
        campaign_ids, since, now,
    )
    estimate = estimated_false_positives(row["machines"], amd_false_positive_rate)
    return _Answers(row["live"] + estimate, row["abandons"] + estimate, row["machines"], estimate)


async def compliance_report(
    conn: asyncpg.Connection, *, campaign_id: int, now: datetime, max_outside_examples: int = 5
) -> ComplianceReport:
    """Per window (the legal one, the last 24 h, the campaign to date): live answers, abandons, rate against
    the cap, calls outside hours and calls to DNC numbers (both must be 0)."""
    require_aware(now)
    name = await conn.fetchval("SELECT name FROM campaign WHERE id = $1", campaign_id)
    if name is None:
        raise ComplianceError(f"no campaign with id {campaign_id}")
    rules = await campaign_rules(conn, campaign_id)
    abandon = rules.abandon
    first = await conn.fetchval("SELECT min(claimed_at) FROM attempt WHERE campaign_id = $1", campaign_id)
    windows: list[tuple[str, datetime | None, bool]] = [(f"legal window ({_span(abandon.window)})",
                                                         now - abandon.window, True)]
    if abandon.window != timedelta(hours=24):
        windows.append(("last 24 h", now - timedelta(hours=24), False))
    windows.append(("campaign to date", None, False))
    earliest = (first or now) - timedelta(microseconds=1)
    # Every call that went out since the earliest window start, each re-checked once.
    sent = await conn.fetch(
        """SELECT a.phone, a.originated_at,
                  -- a call to another of the lead's numbers is judged in that number's own zones
                  CASE WHEN a.phone = l.phone THEN l.timezone END AS timezone,
                  CASE WHEN a.phone = l.phone THEN s.zones END AS timezones, l.fields,
                  EXISTS (SELECT 1 FROM dnc d WHERE d.phone = a.phone AND d.scope IN ('company', $4)
                                                AND d.added_at <= a.originated_at) AS on_dnc
           FROM attempt a JOIN lead l ON l.id = a.lead_id
                LEFT JOIN timezone_set s ON s.id = l.timezone_set  -- every zone of the number (lists)
           WHERE a.campaign_id = $1 AND a.originated_at > $2 AND a.originated_at <= $3
           ORDER BY a.originated_at""",
        campaign_id, min(earliest, *(s for _, s, _ in windows if s is not None)), now,
        dnc.campaign_scope(campaign_id),
    )
    # Judged by the law (preset, state, holiday calendar), not by today's campaign windows: narrowing the
    # windows later must not turn yesterday's lawful calls into findings.
    legal_rules = replace(rules, windows=None)
    checked = [(r["originated_at"], _inside_hours(legal_rules, r), r["on_dnc"]) for r in sent]
    examples = [f"{r['phone']} at {r['originated_at'].isoformat()}"
                for r, (_, inside, _) in zip(sent, checked, strict=True) if not inside][-max_outside_examples:]
    rows = []
    for label, start, legal in windows:
        since = start if start is not None else earliest
        answers = await _answers(conn, [campaign_id], since, now, abandon.amd_false_positive_rate)
        in_window = [c for c in checked if c[0] > since]
        rows.append(WindowRow(
            label=label, start=start, end=now, attempts=len(in_window), live_answers=answers.live,
            abandons=answers.abandons, machine_answers=answers.machines, false_positive_estimate=answers.estimate,
            rate=window_rate(answers.live, answers.abandons), cap=abandon.cap,
            calls_outside_hours=sum(1 for c in in_window if not c[1]),
            calls_to_dnc=sum(1 for c in in_window if c[2]), legal=legal,
        ))
    held = await conn.fetchval(
        """SELECT count(*) FROM lead l WHERE l.campaign_id = $1 AND l.state <> 'done'
             AND EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone AND d.scope IN ('company', $2))""",
        campaign_id, dnc.campaign_scope(campaign_id),
    )
    registry = await registry_verdict(conn, campaign_id=campaign_id, now=now)
    return ComplianceReport(
        campaign_id=campaign_id, campaign_name=name, policy=rules.policy().name, abandon_rule=abandon.source,
        now=now, rows=tuple(rows), leads_held_by_dnc=held, registry=registry.reason,
        registry_ok=registry.allowed, outside_hours_examples=tuple(dict.fromkeys(examples)),
    )


def _inside_hours(rules: CampaignRules, attempt: asyncpg.Record) -> bool:
    """Re-check one call that went out, with the zone and state the claim would have used."""
    fields = attempt["fields"]
    if isinstance(fields, str):
        fields = json.loads(fields)
    try:
        zone = rules.zone_of(attempt["phone"], attempt["timezones"] or (), attempt["timezone"])
    except ComplianceError:
        return False  # a call to a number of unknown zone cannot be shown to be inside hours
    policy = rules.policy(rules.state_of(attempt["phone"], fields))
    return may_call(zone, attempt["originated_at"], policy).allowed


def _span(window: timedelta) -> str:
    if window % timedelta(days=1) == timedelta(0) and window > timedelta(days=1):
        return f"{window.days} days"
    return f"{window / timedelta(hours=1):g} h"
