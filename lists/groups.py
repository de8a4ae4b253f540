"""Campaign groups: campaigns that share one pool of operators.

A group holds how many of the pool's operators are kept free (``reserved``), the members' default pacing
settings (the optimization target) and whether the abandonment cap also binds over the whole group. Its
members are campaigns, each with a ``share`` (a weight of the pool's operator handle time) and a
``priority`` (higher first when capacity is short). Every change is one transaction with its audit rows
and a ``NOTIFY campaign_changed``, so the engine running the group applies it within a second.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from lists.campaigns import CampaignError, get

Conn = asyncpg.Connection | asyncpg.Pool
PacingValidator = Callable[[str, dict[str, Any]], None]   # (mode, pacing) → raises naming the setting


class GroupError(CampaignError):
    """A group request that cannot be honoured; the message names the setting and says what to change."""


class GroupNotFound(GroupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no campaign group named {name!r} (see `dialer group list`)")
        self.name = name


@dataclass(frozen=True)
class GroupMember:
    campaign_id: int
    name: str
    share: float
    priority: int
    state: str = "paused"


@dataclass(frozen=True)
class CampaignGroup:
    id: int
    name: str
    reserved: int
    pacing: dict[str, Any]
    group_ledger: bool
    members: tuple[GroupMember, ...] = field(default_factory=tuple)

    def member(self, campaign_id: int) -> GroupMember | None:
        return next((m for m in self.members if m.campaign_id == campaign_id), None)

    def target_shares(self) -> dict[int, float]:
        """Each member's share as a fraction of the group (before unused share flows to the others)."""
        total = sum(m.share for m in self.members)
        return {m.campaign_id: m.share / total for m in self.members} if total > 0 else {}


def check_share(share: float) -> float:
    if not isinstance(share, int | float) or isinstance(share, bool) or not math.isfinite(share) or share <= 0:
        raise GroupError(f"share must be a positive number (a weight, e.g. 70 and 30), got {share!r}")
    return float(share)


def check_priority(priority: int) -> int:
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise GroupError(f"priority must be a whole number (higher goes first when operators are short), "
                         f"got {priority!r}")
    return priority


def check_reserved(reserved: int) -> int:
    if not isinstance(reserved, int) or isinstance(reserved, bool) or reserved < 0:
        raise GroupError(f"reserved must be a whole number of operators >= 0, got {reserved!r}")
    return reserved


def _check_pacing(pacing: dict[str, Any], validate: PacingValidator) -> None:
    if "mode" in pacing:
        raise GroupError("mode is a campaign's setting, not a group's (set it with `dialer campaign set`)")
    try:
        validate("predictive", pacing)
    except (TypeError, ValueError) as exc:
        raise GroupError(f"group pacing: {exc}") from None


_GROUP_COLUMNS = "id, name, reserved, pacing, group_ledger"


async def _load(conn: Conn, row: asyncpg.Record | None, name: str) -> CampaignGroup:
    if row is None:
        raise GroupNotFound(name)
    members = await conn.fetch(
        """SELECT id, name, group_share, group_priority, state FROM campaign WHERE group_id = $1
           ORDER BY group_priority DESC, id""", row["id"])
    pacing = row["pacing"] if isinstance(row["pacing"], dict) else json.loads(row["pacing"])
    return CampaignGroup(row["id"], row["name"], row["reserved"], pacing, row["group_ledger"], tuple(
        GroupMember(m["id"], m["name"], m["group_share"], m["group_priority"], m["state"]) for m in members))


async def get_group(conn: Conn, name: str) -> CampaignGroup:
    row = await conn.fetchrow(f"SELECT {_GROUP_COLUMNS} FROM campaign_group WHERE name = $1", name)
    return await _load(conn, row, name)


async def get_group_by_id(conn: Conn, group_id: int) -> CampaignGroup:
    row = await conn.fetchrow(f"SELECT {_GROUP_COLUMNS} FROM campaign_group WHERE id = $1", group_id)
    return await _load(conn, row, f"#{group_id}")


async def all_groups(conn: Conn) -> list[CampaignGroup]:
    rows = await conn.fetch(f"SELECT {_GROUP_COLUMNS} FROM campaign_group ORDER BY id")
    return [await _load(conn, r, r["name"]) for r in rows]


async def group_of(conn: Conn, campaign_id: int) -> CampaignGroup | None:
    group_id = await conn.fetchval("SELECT group_id FROM campaign WHERE id = $1", campaign_id)
    return None if group_id is None else await get_group_by_id(conn, group_id)


async def create(conn: Conn, name: str, *, reserved: int = 0, pacing: dict[str, Any] | None = None,
                 group_ledger: bool = False, actor: str, now: datetime, validate: PacingValidator) -> CampaignGroup:
    if not name.strip():
        raise GroupError("a group needs a name")
    check_reserved(reserved)
    _check_pacing(pacing or {}, validate)
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO campaign_group (name, reserved, pacing, group_ledger) VALUES ($1, $2, $3::jsonb, $4)
                RETURNING {_GROUP_COLUMNS}""", name, reserved, json.dumps(pacing or {}), group_ledger)
    except asyncpg.UniqueViolationError:
        raise GroupError(f"a campaign group named {name!r} exists already") from None
    await _audit(conn, row["id"], None, "group", None, {"reserved": reserved, "pacing": pacing or {},
                                                        "group_ledger": group_ledger}, actor, now)
    return await _load(conn, row, name)


async def set_member(conn: Conn, group_name: str, campaign_name: str, *, share: float | None = None,
                     priority: int | None = None, actor: str, now: datetime) -> CampaignGroup:
    """Add a campaign to the group, or change its share or priority. A campaign is in one group at most."""
    group = await get_group(conn, group_name)
    campaign = await get(conn, campaign_name)
    row = await conn.fetchrow("SELECT g.name AS other FROM campaign c JOIN campaign_group g ON g.id = c.group_id "
                              "WHERE c.id = $1", campaign.id)
    if row is not None and row["other"] != group.name:
        raise GroupError(f"campaign {campaign.name!r} is in group {row['other']!r} already; remove it there first "
                         f"(`dialer group remove {row['other']} {campaign.name}`)")
    old = group.member(campaign.id)
    new_share = check_share(share) if share is not None else (old.share if old else 1.0)
    new_priority = check_priority(priority) if priority is not None else (old.priority if old else 0)
    await conn.execute("UPDATE campaign SET group_id = $2, group_share = $3, group_priority = $4 WHERE id = $1",
                       campaign.id, group.id, new_share, new_priority)
    if old is None:
        await _audit(conn, group.id, campaign.id, "member", None, {"share": new_share, "priority": new_priority},
                     actor, now)
    else:
        for setting, before, after in (("share", old.share, new_share), ("priority", old.priority, new_priority)):
            if before != after:
                await _audit(conn, group.id, campaign.id, setting, before, after, actor, now)
    await _notify(conn, group.id)
    return await get_group_by_id(conn, group.id)


async def remove_member(conn: Conn, group_name: str, campaign_name: str, *, actor: str,
                        now: datetime) -> CampaignGroup:
    """The campaign leaves the group and paces alone again (its own pacing loop)."""
    group = await get_group(conn, group_name)
    campaign = await get(conn, campaign_name)
    old = group.member(campaign.id)
    if old is None:
        raise GroupError(f"campaign {campaign.name!r} is not in group {group.name!r}")
    await conn.execute("UPDATE campaign SET group_id = NULL, group_share = 1, group_priority = 0 WHERE id = $1",
                       campaign.id)
    await _audit(conn, group.id, campaign.id, "member", {"share": old.share, "priority": old.priority}, None,
                 actor, now)
    await _notify(conn, group.id)
    return await get_group_by_id(conn, group.id)


async def set_settings(conn: Conn, group_name: str, *, reserved: int | None = None,
                       group_ledger: bool | None = None, pacing: dict[str, Any] | None = None, actor: str,
                       now: datetime, validate: PacingValidator) -> CampaignGroup:
    """A live change of the group's reserved operators, ledger flag or pacing target (merged into the
    group's pacing document; a value of None removes that key)."""
    group = await get_group(conn, group_name)
    new_reserved = group.reserved if reserved is None else check_reserved(reserved)
    new_ledger = group.group_ledger if group_ledger is None else group_ledger
    new_pacing = dict(group.pacing)
    for key, value in (pacing or {}).items():
        if value is None:
            new_pacing.pop(key, None)
        else:
            new_pacing[key] = value
    _check_pacing(new_pacing, validate)
    await conn.execute("UPDATE campaign_group SET reserved = $2, group_ledger = $3, pacing = $4::jsonb WHERE id = $1",
                       group.id, new_reserved, new_ledger, json.dumps(new_pacing))
    changes = [("reserved", group.reserved, new_reserved), ("group_ledger", group.group_ledger, new_ledger)]
    changes += [(key, group.pacing.get(key), new_pacing.get(key)) for key in sorted({*group.pacing, *new_pacing})]
    for setting, before, after in changes:
        if before != after:
            await _audit(conn, group.id, None, setting, before, after, actor, now)
    await _notify(conn, group.id)
    return await get_group_by_id(conn, group.id)


async def _audit(conn: Conn, group_id: int, campaign_id: int | None, setting: str, old: Any, new: Any, actor: str,
                 now: datetime) -> None:
    await conn.execute(
        """INSERT INTO audit (at, actor, campaign_id, group_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)""",
        now, actor, campaign_id, group_id, setting, json.dumps(old), json.dumps(new))


async def _notify(conn: Conn, group_id: int) -> None:
    """The engine's control plane LISTENs on campaign_changed and re-reads campaigns and groups."""
    await conn.execute("SELECT pg_notify('campaign_changed', $1)", f"group:{group_id}")
