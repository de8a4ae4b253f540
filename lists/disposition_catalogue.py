"""Changing a campaign's disposition catalogue: from a campaign file, by an explicit removal, back to the
default codes — without ever losing a code silently.

A file adds codes and changes the ones it names; a code it does not name stays (the caller says which
ones it kept). Removal is a separate act (``dialer lists dispositions CAMPAIGN --remove CODE``): a code no
call was given is deleted; a code calls were given is retired instead, because attempts, the leads' last
code and the reports still name it — the console stops offering it and a new wrap-up may not choose it.
Naming a retired code in a file again brings it back. The system's codes (``unknown``) and the two the
engine acts on (the opt-out ``do_not_call``, ``callback``) are never removed and keep their effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from lists.dispositions import DEFAULT_CATALOGUE, PROTECTED, Disposition, catalogue, describe, system_codes
from lists.errors import DispositionError

_FIELDS = {"label", "final", "follow_up_days", "retry_after_s", "callback"}
_EFFECT = ("final", "follow_up_days", "retry_after_s", "schedules_callback")


def from_toml(table: dict) -> list[Disposition]:
    """A campaign TOML's ``[dispositions.CODE]`` tables: ``label``, and at most one of ``final = true``,
    ``follow_up_days = N``, ``retry_after_s = N``, ``callback = true``. ``do_not_call`` and ``callback``
    may be given a label alone (they keep their effect) but not another effect. Errors name the code and
    the key."""
    if not isinstance(table, dict) or not table:
        raise DispositionError("[dispositions] needs one table per code, e.g. [dispositions.sale] label = \"Sale\"")
    found = []
    for code, spec in table.items():
        where = f"[dispositions.{code}]"
        if not code.replace("_", "").isalnum() or not code.islower():
            raise DispositionError(f"{where}: a code is lower-case letters, digits and '_'")
        if not isinstance(spec, dict):
            raise DispositionError(f"{where} must be a table with at least a label")
        unknown = sorted(set(spec) - _FIELDS)
        if unknown:
            hint = " (to remove a code: dialer lists dispositions CAMPAIGN --remove CODE)" \
                if "remove" in unknown else ""
            raise DispositionError(
                f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))}){hint}")
        label = spec.get("label")
        if not isinstance(label, str) or not label.strip():
            raise DispositionError(f"{where}: label is missing")
        for key in ("follow_up_days", "retry_after_s"):
            if key in spec and (not isinstance(spec[key], int) or isinstance(spec[key], bool) or spec[key] < 0):
                raise DispositionError(f"{where}: {key} must be a whole number ≥ 0, not {spec[key]!r}")
        for key in ("final", "callback"):
            if key in spec and not isinstance(spec[key], bool):
                raise DispositionError(f"{where}: {key} must be true or false, not {spec[key]!r}")
        effects = [k for k in ("follow_up_days", "retry_after_s") if k in spec]
        effects += [k for k in ("final", "callback") if spec.get(k)]
        if len(effects) > 1:
            raise DispositionError(f"{where}: choose one of {', '.join(effects)} (what the code does to the lead)")
        item = Disposition(code, label.strip(), final=bool(spec.get("final")),
                           follow_up_days=spec.get("follow_up_days"), retry_after_s=spec.get("retry_after_s"),
                           schedules_callback=bool(spec.get("callback")))
        if code in PROTECTED:
            fixed = PROTECTED[code]
            if effects and _effect(item) != _effect(fixed):
                raise DispositionError(f"{where}: {code!r} is a system code, it always does this: {describe(fixed)}; "
                                       "only its label may change")
            item = Disposition(code, item.label, final=fixed.final, schedules_callback=fixed.schedules_callback)
        found.append(item)
    return found


def _effect(d: Disposition) -> tuple[object, ...]:
    return tuple(getattr(d, name) for name in _EFFECT)


@dataclass(frozen=True)
class Merged:
    """What a file did to the catalogue."""

    added: list[str]
    changed: list[str]
    restored: list[str]    # retired codes the file named again
    kept: list[str]        # codes the file did not name, still in the catalogue


@dataclass(frozen=True)
class Removed:
    deleted: list[str]     # no call was given them
    retired: list[str]     # calls were given them: kept for history


async def merge(conn: asyncpg.Connection, campaign_id: int, items: list[Disposition], *, actor: str,
                now: datetime) -> Merged:
    """Add the file's new codes and change the ones it names; every other code stays as it is."""
    system = await system_codes(conn)
    if taken := sorted(d.code for d in items if d.code in system):
        raise DispositionError(f"[dispositions.{taken[0]}]: {taken[0]!r} is a system code, set only by the engine")
    old = await catalogue(conn, campaign_id, retired=True)
    named = {d.code for d in items}
    merged = Merged(
        added=sorted(named - set(old)),
        changed=sorted(d.code for d in items if d.code in old and old[d.code].retired_at is None
                       and (d.label, *_effect(d)) != (old[d.code].label, *_effect(old[d.code]))),
        restored=sorted(c for c in named if c in old and old[c].retired_at is not None),
        kept=sorted(c for c, d in old.items() if c not in named and d.retired_at is None))
    async with conn.transaction():
        await _upsert(conn, campaign_id, items)
        await _audit(conn, campaign_id, old, actor=actor, now=now)
    return merged


async def restore_defaults(conn: asyncpg.Connection, campaign_id: int, *, actor: str, now: datetime) -> list[str]:
    """Bring back the default catalogue's codes that are missing or retired (as the default defines them);
    the campaign's own codes stay. Returns the codes brought back."""
    old = await catalogue(conn, campaign_id, retired=True)
    back = [d for d in DEFAULT_CATALOGUE if d.code not in old or old[d.code].retired_at is not None]
    if back:
        async with conn.transaction():
            await _upsert(conn, campaign_id, back)
            await _audit(conn, campaign_id, old, actor=actor, now=now)
    return [d.code for d in back]


async def remove(conn: asyncpg.Connection, campaign_id: int, codes: list[str], *, actor: str,
                 now: datetime) -> Removed:
    """Remove codes from the catalogue: delete the ones no call was given, retire the others. Refused, with
    nothing changed, for a system code, a code the campaign does not have, or one already retired."""
    old = await catalogue(conn, campaign_id, retired=True)
    system = await system_codes(conn)
    for code in codes:
        if code in system:
            raise DispositionError(f"{code!r} is a system code, set only by the engine: it cannot be removed")
        if code in PROTECTED:
            raise DispositionError(f"{code!r} is a system code ({describe(PROTECTED[code])}): it cannot be "
                                   "removed; its label may change")
        if code not in old:
            raise DispositionError(f"no disposition {code!r} in this campaign; it has: {', '.join(sorted(old))}")
        if old[code].retired_at is not None:
            raise DispositionError(f"disposition {code!r} is already retired")
    deleted, retired = [], []
    async with conn.transaction():
        for code in dict.fromkeys(codes):
            used = await conn.fetchval(
                """SELECT EXISTS (SELECT 1 FROM attempt WHERE campaign_id = $1 AND disposition = $2)
                       OR EXISTS (SELECT 1 FROM lead WHERE campaign_id = $1 AND last_disposition = $2)""",
                campaign_id, code)
            if used:
                await conn.execute("UPDATE disposition SET retired_at = $3 WHERE campaign_id = $1 AND code = $2",
                                   campaign_id, code, now)
                retired.append(code)
            else:
                await conn.execute("DELETE FROM disposition WHERE campaign_id = $1 AND code = $2", campaign_id, code)
                deleted.append(code)
        await _audit(conn, campaign_id, old, actor=actor, now=now)
    return Removed(deleted, retired)


@dataclass(frozen=True)
class Entry:
    disposition: Disposition
    kind: str          # "system", "retired" or "" (an ordinary code)


async def listing(conn: asyncpg.Connection, campaign_id: int) -> list[Entry]:
    """Every code the campaign knows: its own (retired ones last) and the system's."""
    own = await catalogue(conn, campaign_id, retired=True)
    entries = [Entry(d, "system" if d.code in PROTECTED else "") for d in own.values() if d.retired_at is None]
    entries += [Entry(d, "system") for d in (await system_codes(conn)).values()]
    entries += [Entry(d, "retired") for d in own.values() if d.retired_at is not None]
    return entries


async def _upsert(conn: asyncpg.Connection, campaign_id: int, items: list[Disposition]) -> None:
    await conn.executemany(
        """INSERT INTO disposition (campaign_id, code, label, final, follow_up_days, retry_after_s,
                                    schedules_callback, retired_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
           ON CONFLICT (campaign_id, code) DO UPDATE SET
               label = EXCLUDED.label, final = EXCLUDED.final, follow_up_days = EXCLUDED.follow_up_days,
               retry_after_s = EXCLUDED.retry_after_s, schedules_callback = EXCLUDED.schedules_callback,
               retired_at = NULL""",
        [(campaign_id, d.code, d.label, d.final, d.follow_up_days, d.retry_after_s, d.schedules_callback)
         for d in items])


async def _audit(conn: asyncpg.Connection, campaign_id: int, old: dict[str, Disposition], *, actor: str,
                 now: datetime) -> None:
    """Who changed the catalogue: the codes a wrap-up could choose before and after."""
    new = await catalogue(conn, campaign_id)
    await conn.execute(
        """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, 'dispositions', to_jsonb($4::text[]), to_jsonb($5::text[]))""",
        now, actor, campaign_id, sorted(c for c, d in old.items() if d.retired_at is None), sorted(new))
