"""Campaign rows: what a campaign manager creates, starts and pauses.

A campaign holds its dialing mode and pacing settings as a jsonb document so that a supervisor's live
change is one row update (and one audit row), not a schema change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import phonenumbers

from pacing.modes import MODES

STATES = ("paused", "running", "finished", "archived")


class CampaignError(Exception):
    """A campaign request that cannot be honoured; the message says what to change."""


class CampaignNotFound(CampaignError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no campaign named {name!r} (see `dialer campaign list`)")
        self.name = name


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    state: str
    mode: str
    pacing: dict[str, Any]
    channel_template: str
    caller_id: str
    timezone: str
    default_region: str
    ring_timeout_s: int
    safe_harbor_s: float
    script: dict[str, Any] = field(default_factory=dict)
    caller_id_pool: dict[str, list[str]] = field(default_factory=dict)   # local presence: prefix/region → IDs
    strategy: dict[str, Any] = field(default_factory=dict)   # time-of-day order of categories (lists/strategy.py)
    personal_callback_grace_s: int = 1800
    language: str | None = None               # of its prompts; None: the channel's own (Asterisk's endpoint)
    seller_prompt: dict[str, Any] | None = None   # made, for which seller, from what (dialer/seller_prompt.py)

    def channel_for(self, phone: str) -> str:
        """The dial string for one number. ``{phone}`` is E.164 with '+', ``{digits}`` without it."""
        return self.channel_template.format(phone=phone, digits=phone.lstrip("+"))


_COLUMNS = (
    "id, name, state, mode, pacing, channel_template, caller_id, timezone, default_region, "
    "ring_timeout_s, safe_harbor_s, script, caller_id_pool, strategy, personal_callback_grace_s, language, "
    "seller_prompt"
)


def _from_row(row: asyncpg.Record) -> Campaign:
    values = dict(row)
    for key in ("pacing", "script", "caller_id_pool", "strategy", "seller_prompt"):
        if isinstance(values[key], str):
            values[key] = json.loads(values[key])
    return Campaign(**values)


_TECHNOLOGY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/\S+$")


def _check_template(template: str) -> None:
    """Checked when it is set, not when the first call fails: a typo would otherwise surface as every
    Originate of the day refused by Asterisk."""
    if "{phone}" not in template and "{digits}" not in template:
        raise CampaignError(
            f"channel template {template!r} must contain {{phone}} or {{digits}}, e.g. PJSIP/{{phone}}@trunk"
        )
    try:
        sample = template.format(phone="+15550100", digits="15550100")
    except (KeyError, IndexError, ValueError):
        raise CampaignError(f"channel template {template!r} may use only {{phone}} and {{digits}}") from None
    if not _TECHNOLOGY.match(sample):
        raise CampaignError(f"channel template {template!r} must be TECHNOLOGY/RESOURCE, e.g. PJSIP/{{phone}}@trunk")


def _check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f"time zone {timezone!r} is not an IANA zone name, e.g. Europe/Moscow or UTC") from None


def _check_region(region: str) -> None:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise CampaignError(f"region {region!r} is not a country code that has phone numbers, e.g. US, GB, RU")


def _check_ring_timeout(ring_timeout_s: int) -> None:
    """Only that it is a time: its legal minimum is compliance's (``compliance.limits.check_ring``), checked
    by whoever sets it with the campaign's preset at hand."""
    if ring_timeout_s <= 0:
        raise CampaignError("ring_timeout_s must be a positive number of seconds")


async def create(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    name: str,
    channel_template: str,
    caller_id: str,
    mode: str = "progressive",
    pacing: dict[str, Any] | None = None,
    timezone: str = "UTC",
    default_region: str = "US",
    ring_timeout_s: int = 25,
    safe_harbor_s: float = 2.0,
) -> Campaign:
    """A new paused campaign. The legal figures (ring time, safe harbor) are checked by the caller against
    the preset's limits (``compliance.limits``); this room keeps no copy of the law."""
    if not caller_id.strip():
        raise CampaignError("caller_id is required and may not be blank (the law wants a number to call back)")
    if mode not in MODES:
        raise CampaignError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    _check_template(channel_template)
    _check_timezone(timezone)
    _check_region(default_region)
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO campaign (name, channel_template, caller_id, mode, pacing, timezone,
                                      default_region, ring_timeout_s, safe_harbor_s)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9) RETURNING {_COLUMNS}""",
            name, channel_template, caller_id, mode, json.dumps(pacing or {}), timezone,
            default_region, ring_timeout_s, safe_harbor_s,
        )
    except asyncpg.UniqueViolationError:
        raise CampaignError(f"a campaign named {name!r} exists already") from None
    return _from_row(row)


async def get(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Campaign:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM campaign WHERE name = $1", name)
    if row is None:
        raise CampaignNotFound(name)
    return _from_row(row)


async def get_by_id(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> Campaign:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM campaign WHERE id = $1", campaign_id)
    if row is None:
        raise CampaignNotFound(f"#{campaign_id}")
    return _from_row(row)


async def all_campaigns(conn: asyncpg.Connection | asyncpg.Pool) -> list[Campaign]:
    return [_from_row(r) for r in await conn.fetch(f"SELECT {_COLUMNS} FROM campaign ORDER BY id")]


async def running(conn: asyncpg.Connection | asyncpg.Pool) -> list[Campaign]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM campaign WHERE state = 'running' ORDER BY id")
    return [_from_row(r) for r in rows]


async def states(conn: asyncpg.Connection | asyncpg.Pool, campaign_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Name and state of these campaigns (the console says which of the operator's are paused)."""
    rows = await conn.fetch("SELECT id, name, state FROM campaign WHERE id = ANY($1::bigint[])", campaign_ids)
    return {r["id"]: (r["name"], r["state"]) for r in rows}


async def state_of(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> tuple[int, str] | None:
    """The named campaign's id and state, or None when there is no such campaign (the watch view's title)."""
    row = await conn.fetchrow("SELECT id, state FROM campaign WHERE name = $1", name)
    return None if row is None else (int(row["id"]), str(row["state"]))


async def set_state(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, state: str, *, actor: str, now: datetime,
    reason: str | None = None,
) -> Campaign:
    """Start, pause, finish or archive; audited, with the ``reason`` when one is given (the engine pausing
    a campaign by itself says why)."""
    if state not in STATES:
        raise CampaignError(f"state {state!r} is not one of {', '.join(STATES)}")
    campaign = await get(conn, name)
    if campaign.state == "archived" and state != "archived":
        raise CampaignError(f"campaign {name!r} is archived: its history stays readable, but it cannot run again")
    row = await conn.fetchrow(
        f"UPDATE campaign SET state = $2 WHERE id = $1 RETURNING {_COLUMNS}", campaign.id, state
    )
    await conn.execute(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, 'state', to_jsonb($4::text), to_jsonb($5::text))""",
        now, actor, campaign.id, campaign.state, state,
    )
    if reason is not None:
        await conn.execute(
            """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
               VALUES ($1, $2, $3, 'state_reason', NULL, to_jsonb($4::text))""", now, actor, campaign.id, reason)
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign.id))
    return _from_row(row)


PacingValidator = Callable[[str, dict[str, Any]], None]


async def set_pacing(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, changes: dict[str, Any], *, actor: str, now: datetime,
    validate: PacingValidator,
) -> Campaign:
    """A live change of mode or pacing settings: one row update, one audit row per setting, one NOTIFY.

    ``validate(mode, pacing)`` raises with the setting's name when the result would be invalid; it is
    passed in because the rules are pacing's, and this room does not import pacing.
    """
    campaign = await get(conn, name)
    mode = str(changes.get("mode", campaign.mode))
    pacing = dict(campaign.pacing)
    pacing.update({k: v for k, v in changes.items() if k != "mode"})
    if mode not in MODES:
        raise CampaignError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    try:
        validate(mode, pacing)
    except (TypeError, ValueError) as exc:
        raise CampaignError(str(exc)) from None
    row = await conn.fetchrow(
        f"UPDATE campaign SET mode = $2, pacing = $3::jsonb WHERE id = $1 RETURNING {_COLUMNS}",
        campaign.id, mode, json.dumps(pacing))
    old = {"mode": campaign.mode, **campaign.pacing}
    await conn.executemany(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)""",
        [(now, actor, campaign.id, key, json.dumps(old.get(key)), json.dumps(value))
         for key, value in changes.items() if old.get(key) != value])
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign.id))
    return _from_row(row)


async def set_caller_id_pool(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, db: dict[str, list[str]], *, actor: str, now: datetime,
) -> Campaign:
    """Local presence: which caller IDs callees in an area see (checked by compliance before dialing)."""
    campaign = await get(conn, name)
    row = await conn.fetchrow(
        f"UPDATE campaign SET caller_id_pool = $2::jsonb WHERE id = $1 RETURNING {_COLUMNS}",
        campaign.id, json.dumps(db))
    await conn.execute(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, 'caller_id_pool', $4::jsonb, $5::jsonb)""",
        now, actor, campaign.id, json.dumps(campaign.caller_id_pool), json.dumps(db))
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign.id))
    return _from_row(row)


EDITABLE = ("name", "caller_id", "channel_template", "timezone", "default_region", "ring_timeout_s")


async def edit(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, changes: dict[str, Any], *, actor: str, now: datetime,
) -> Campaign:
    """Change what a campaign dials with (name, caller ID, channel template, time zone, default region, ring
    time). Each value is checked as at creation; each change is one audit row; a running engine re-reads
    the campaign on the NOTIFY, so the next call uses it."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise CampaignError(f"cannot edit {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    campaign = await get(conn, name)
    if campaign.state == "archived":
        raise CampaignError(f"campaign {name!r} is archived and cannot be changed")
    checks: dict[str, Callable[[Any], None]] = {
        "channel_template": _check_template, "timezone": _check_timezone, "default_region": _check_region,
        "ring_timeout_s": _check_ring_timeout, "caller_id": _check_caller_id, "name": _check_name}
    for key, value in changes.items():
        checks[key](value)
    old = {key: getattr(campaign, key) for key in changes}
    changed = {key: value for key, value in changes.items() if old[key] != value}
    if not changed:
        return campaign
    assignments = ", ".join(f"{key} = ${i}" for i, key in enumerate(changed, start=2))
    try:
        row = await conn.fetchrow(f"UPDATE campaign SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
                                  campaign.id, *changed.values())
    except asyncpg.UniqueViolationError:
        raise CampaignError(f"a campaign named {changes['name']!r} exists already") from None
    await conn.executemany(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)""",
        [(now, actor, campaign.id, key, json.dumps(old[key]), json.dumps(value)) for key, value in changed.items()])
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign.id))
    return _from_row(row)


def _check_caller_id(caller_id: str) -> None:
    if not str(caller_id).strip():
        raise CampaignError("caller_id is required and may not be blank (the law wants a number to call back)")


def _check_name(name: str) -> None:
    if not str(name).strip():
        raise CampaignError("a campaign's name may not be blank")


async def archive(conn: asyncpg.Connection | asyncpg.Pool, name: str, *, actor: str, now: datetime) -> Campaign:
    """Put a finished campaign away: it leaves `dialer campaign list`, cannot run again, and keeps its
    attempts, reports and audit trail (the law asks for the records; a delete would lose them)."""
    campaign = await get(conn, name)
    if campaign.state == "running":
        raise CampaignError(f"campaign {name!r} is running: pause it first (`dialer campaign pause {name}`)")
    return await set_state(conn, name, "archived", actor=actor, now=now)


async def delete(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> None:
    """Only a campaign that never dialed may go for good (a mistake at creation); any other is archived."""
    campaign = await get(conn, name)
    if campaign.state == "running":
        raise CampaignError(f"campaign {name!r} is running: pause it first (`dialer campaign pause {name}`)")
    dialed = await conn.fetchval("SELECT count(*) FROM attempt WHERE campaign_id = $1", campaign.id)
    if dialed:
        raise CampaignError(f"campaign {name!r} has dialed {dialed} time(s): its records must stay; "
                            f"use `dialer campaign archive {name}`")
    await conn.execute("DELETE FROM campaign WHERE id = $1", campaign.id)


@dataclass(frozen=True)
class CampaignFigures:
    """What `dialer campaign show` adds to the settings: the list, the work done, who works it."""
    leads: dict[str, int]
    attempts: int
    connected: int
    operators: list[str]
    last_changes: list[tuple[datetime, str, str, Any, Any]]


async def figures(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> CampaignFigures:
    leads = {r["state"]: r["n"] for r in await conn.fetch(
        "SELECT state, count(*) AS n FROM lead WHERE campaign_id = $1 GROUP BY state", campaign_id)}
    work = await conn.fetchrow(
        """SELECT count(*) AS attempts, count(*) FILTER (WHERE outcome = 'connected') AS connected
           FROM attempt WHERE campaign_id = $1""", campaign_id)
    names = [r["name"] for r in await conn.fetch(
        """SELECT o.name FROM operator o JOIN campaign_operator co ON co.operator_id = o.id
           WHERE co.campaign_id = $1 ORDER BY o.name""", campaign_id)]
    rows = await conn.fetch(
        """SELECT at, actor, setting, old_value, new_value FROM audit WHERE campaign_id = $1
           ORDER BY id DESC LIMIT 5""", campaign_id)
    changes = [(r["at"], r["actor"], r["setting"], _json(r["old_value"]), _json(r["new_value"])) for r in rows]
    return CampaignFigures(leads, work["attempts"], work["connected"], names, changes)


async def last_changed_by(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> str | None:
    """Who made the campaign's latest audited change (the engine's log names who tuned a running campaign)."""
    return await conn.fetchval("SELECT actor FROM audit WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1",
                               campaign_id)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def set_seller_prompt(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, prompt: dict[str, Any], *, language: str, actor: str,
    now: datetime,
) -> Campaign:
    """Record that the campaign's seller prompt was made (the file is already where Asterisk reads it), and in
    which language its prompts play; audited like every other campaign change."""
    campaign = await get(conn, name)
    row = await conn.fetchrow(
        f"UPDATE campaign SET seller_prompt = $2::jsonb, language = $3 WHERE id = $1 RETURNING {_COLUMNS}",
        campaign.id, json.dumps(prompt), language)
    changes = [("seller_prompt", campaign.seller_prompt, prompt), ("language", campaign.language, language)]
    await conn.executemany(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)""",
        [(now, actor, campaign.id, key, json.dumps(old), json.dumps(new)) for key, old, new in changes if old != new])
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign.id))
    return _from_row(row)
