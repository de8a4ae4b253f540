"""Campaign rows: what a campaign manager creates, starts and pauses.

A campaign holds its dialing mode and pacing settings as a jsonb document so that a supervisor's live
change is one row update (and one audit row), not a schema change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

MODES = ("preview", "progressive", "ratio", "predictive")
STATES = ("paused", "running", "finished")


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


def _check_template(template: str) -> None:
    if "{phone}" not in template and "{digits}" not in template:
        raise CampaignError(
            f"channel template {template!r} must contain {{phone}} or {{digits}}, e.g. PJSIP/{{phone}}@trunk"
        )


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
    if not caller_id.strip():
        raise CampaignError("caller_id is required and may not be blank (the law wants a number to call back)")
    if mode not in MODES:
        raise CampaignError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if ring_timeout_s < 15:
        raise CampaignError("ring_timeout_s must be at least 15: unanswered calls must ring 15 s before giving up")
    if not 0 < safe_harbor_s <= 2.0:
        raise CampaignError("safe_harbor_s must be in (0, 2]: the law allows at most 2 s to connect an answer")
    _check_template(channel_template)
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


async def set_state(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, state: str, *, actor: str, now: datetime
) -> Campaign:
    if state not in STATES:
        raise CampaignError(f"state {state!r} is not one of {', '.join(STATES)}")
    campaign = await get(conn, name)
    row = await conn.fetchrow(
        f"UPDATE campaign SET state = $2 WHERE id = $1 RETURNING {_COLUMNS}", campaign.id, state
    )
    await conn.execute(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, 'state', to_jsonb($4::text), to_jsonb($5::text))""",
        now, actor, campaign.id, campaign.state, state,
    )
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
    conn: asyncpg.Connection | asyncpg.Pool, name: str, pool: dict[str, list[str]], *, actor: str, now: datetime,
) -> Campaign:
    """Local presence: which caller IDs callees in an area see (checked by compliance before dialing)."""
    campaign = await get(conn, name)
    row = await conn.fetchrow(
        f"UPDATE campaign SET caller_id_pool = $2::jsonb WHERE id = $1 RETURNING {_COLUMNS}",
        campaign.id, json.dumps(pool))
    await conn.execute(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, 'caller_id_pool', $4::jsonb, $5::jsonb)""",
        now, actor, campaign.id, json.dumps(campaign.caller_id_pool), json.dumps(pool))
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign.id))
    return _from_row(row)


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
