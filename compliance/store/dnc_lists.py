"""Do-not-call lists (company, campaign) and registry copies in the store (``dnc``, ``dnc_registry``), and
whether a campaign's registries allow it to dial."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from compliance import dnc
from compliance.store.rules import campaign_rules
from compliance.verdict import ComplianceError, Verdict, allow, deny, require_aware


async def add_dnc(
    conn: asyncpg.Connection,
    phones: Iterable[str],
    *,
    scope: str = dnc.COMPANY,
    source: str,
    now: datetime,
    region: str | None = None,
) -> int:
    """Put numbers on a do-not-call list; returns how many entries are new. All or nothing: one bad number
    raises ``DncError`` and adds none. An opt-out taken during a call goes through here with source
    'opt-out:operator' or 'opt-out:keypress'; the claim reads the table, so it holds from the next claim."""
    require_aware(now)
    dnc.check_scope(scope)
    if not source.strip():
        raise dnc.DncError("a do-not-call entry needs a source (who or what asked for it)")
    numbers = sorted({dnc.normalize_phone(p, region) for p in phones})
    if not numbers:
        return 0
    result = await conn.execute(
        """INSERT INTO dnc (phone, scope, source, added_at) SELECT unnest($1::text[]), $2, $3, $4
           ON CONFLICT DO NOTHING""",
        numbers, scope, source, now,
    )
    return int(result.rsplit(" ", 1)[1])


async def is_dnc(conn: asyncpg.Connection, phone: str, campaign_id: int) -> bool:
    """On the company list, a registry, or this campaign's list."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM dnc WHERE phone = $1 AND scope IN ('company', $2))",
        phone, dnc.campaign_scope(campaign_id),
    )


@dataclass(frozen=True)
class DncEntry:
    phone: str
    scope: str
    source: str
    added_at: datetime


async def list_dnc(
    conn: asyncpg.Connection, *, scope: str | None = None, phone: str | None = None, limit: int = 100
) -> list[DncEntry]:
    rows = await conn.fetch(
        """SELECT phone, scope, source, added_at FROM dnc
           WHERE ($1::text IS NULL OR scope = $1) AND ($2::text IS NULL OR phone = $2)
           ORDER BY added_at DESC, phone LIMIT $3""",
        scope, phone, limit,
    )
    return [DncEntry(**dict(r)) for r in rows]


@dataclass(frozen=True)
class RegistryCopy:
    name: str
    copy_date: date
    imported_at: datetime
    entries: int


async def import_registry(
    conn: asyncpg.Connection,
    path: Path,
    *,
    name: str,
    copy_date: date,
    now: datetime,
    region: str | None = "US",
    max_age_days: int = dnc.DEFAULT_REGISTRY_MAX_AGE_DAYS,
) -> RegistryCopy:
    """Replace the entries of registry ``name`` with the numbers in ``path`` (one per line).

    Refuses a copy already older than ``max_age_days`` (it could not be dialed against anyway) and any
    file with a bad line; either way the previous copy stays as it was.
    """
    require_aware(now)
    verdict = dnc.registry_verdict(name, copy_date, now.astimezone(UTC).date(), max_age_days)
    if not verdict:
        if copy_date > now.astimezone(UTC).date():
            raise dnc.DncError(verdict.reason)
        raise dnc.StaleRegistryError(name, copy_date, now.astimezone(UTC).date(), max_age_days)
    if not name or not all(c.isalnum() or c in "_.-" for c in name):
        raise dnc.DncError(f"registry name {name!r}: use letters, digits, '_', '.', '-'")
    try:
        with path.open(encoding="utf-8-sig", errors="strict") as lines:
            numbers = sorted(set(dnc.parse_registry_lines(lines, file_name=path.name, region=region)))
    except UnicodeDecodeError as exc:
        raise dnc.DncError(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise dnc.DncError(f"cannot read {path}: {exc.strerror}") from None
    source = f"registry:{name}"
    async with conn.transaction():
        await conn.execute("DELETE FROM dnc WHERE source = $1", source)
        await conn.execute("CREATE TEMP TABLE registry_import (phone text) ON COMMIT DROP")
        await conn.copy_records_to_table("registry_import", records=[(n,) for n in numbers])
        await conn.execute(
            """INSERT INTO dnc (phone, scope, source, added_at)
               SELECT phone, 'company', $1, $2 FROM registry_import ON CONFLICT DO NOTHING""",
            source, now,
        )
        await conn.execute(
            """INSERT INTO dnc_registry (name, copy_date, imported_at, entries, file_name)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (name) DO UPDATE SET copy_date = $2, imported_at = $3, entries = $4, file_name = $5""",
            name, copy_date, now, len(numbers), path.name,
        )
    return RegistryCopy(name, copy_date, now, len(numbers))


async def registries(conn: asyncpg.Connection) -> list[RegistryCopy]:
    rows = await conn.fetch("SELECT name, copy_date, imported_at, entries FROM dnc_registry ORDER BY name")
    return [RegistryCopy(**dict(r)) for r in rows]


async def registry_verdict(conn: asyncpg.Connection, *, campaign_id: int, now: datetime) -> Verdict:
    """May this campaign dial as far as registries go? Every registry it names must be imported and fresh;
    a campaign that names none is held to every imported registry."""
    require_aware(now)
    rules = await campaign_rules(conn, campaign_id)
    copies = {c.name: c for c in await registries(conn)}
    today = now.astimezone(UTC).date()
    for name in rules.registries:
        if name not in copies:
            return deny(f"do-not-call registry {name!r} is required by the campaign but was never imported")
    names = rules.registries or tuple(copies)
    for name in names:
        verdict = dnc.registry_verdict(name, copies[name].copy_date, today, rules.registry_max_age_days)
        if not verdict:
            return verdict
    return allow(f"fresh: {', '.join(names)}" if names else "no do-not-call registry in use")


async def require_fresh_registries(conn: asyncpg.Connection, *, campaign_id: int, now: datetime) -> None:
    """Raise ``StaleRegistryError`` (a campaign must not dial) when ``registry_verdict`` refuses."""
    verdict = await registry_verdict(conn, campaign_id=campaign_id, now=now)
    if not verdict:
        raise StaleRegistryRefusal(verdict.reason)


class StaleRegistryRefusal(ComplianceError):
    """The campaign's registries are missing or too old: pause it and say this message."""
