"""Loading a call list file into a campaign: all or nothing, every problem named by row and field.

The rows stream from the file through normalization into chunks, each sent with ``COPY`` (asyncpg's binary
copy) into a temporary table and moved into ``lead`` by one ``INSERT … SELECT`` that screens DNC numbers and
skips numbers already in the campaign, so a million rows never sit in Python memory at once. Everything runs in one
transaction: an error or ``--dry-run`` rolls it all back, so nothing is ever half loaded.

Time zones: the number gives its candidate zones (phonenumbers). One zone → ``lead.timezone``. Several
(a Russian or US mobile, a region spanning zones) → ``lead.timezone`` is NULL. Either way
``lead.timezone_set`` points at the set of candidate zones (table ``timezone_set``), and the claim only
dials the lead when every zone of its set is inside calling hours (the most restrictive reading). A
``timezone`` column overrides both; a number without any known zone gets the campaign's zone.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from lists.errors import ImportRejected, ListImportError, PhoneError, RowProblem
from lists.phones import normalize
from lists.sources import Table, open_table
from lists.zones import zone_set_ids

PHONE_HEADERS = ("phone", "phone number", "phone_number", "telephone", "tel", "mobile", "number",
                 "телефон", "тел", "тел.", "мобильный", "номер", "номер телефона")
SPECIAL_TARGETS = ("phone", "alt_phone", "timezone", "priority")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ColumnPlan:
    """Which column of the file feeds what: header positions of phones, zone, priority, and lead fields."""

    phone: int
    alt_phones: tuple[int, ...]
    timezone: int | None
    priority: int | None
    fields: tuple[tuple[str, int], ...]
    header: tuple[str, ...]

    def describe(self) -> str:
        parts = [f"phone: {self.header[self.phone]}"]
        if self.alt_phones:
            parts.append("alternates: " + ", ".join(self.header[i] for i in self.alt_phones))
        if self.timezone is not None:
            parts.append(f"time zone: {self.header[self.timezone]}")
        if self.priority is not None:
            parts.append(f"priority: {self.header[self.priority]}")
        parts.append(f"{len(self.fields)} other column(s) kept as lead fields")
        return "; ".join(parts)


@dataclass
class ImportReport:
    path: Path
    kind: str
    encoding: str | None
    delimiter: str | None
    plan: str = ""
    rows_read: int = 0
    loaded: int = 0
    duplicates_in_file: int = 0
    duplicates_in_campaign: int = 0
    dnc_screened: int = 0
    dry_run: bool = False
    list_id: int | None = None
    errors: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)  # duplicates and DNC: not errors, not loaded


def parse_map(text: str | None) -> dict[str, list[str]]:
    """``phone=Телефон,name=ФИО,alt_phone=Моб,alt_phone=Раб`` → {target: [headers]}."""
    mapping: dict[str, list[str]] = {}
    if not text:
        return mapping
    for part in text.split(","):
        if not part.strip():
            continue
        target, sep, header = part.partition("=")
        if not sep or not target.strip() or not header.strip():
            raise ListImportError(f"--map entry {part!r} must look like target=Column (e.g. phone=Телефон)")
        mapping.setdefault(target.strip(), []).append(header.strip())
    for target in ("phone", "timezone", "priority"):
        if len(mapping.get(target, [])) > 1:
            raise ListImportError(f"--map gives {target} twice; use alt_phone=… for alternate numbers")
    return mapping


def plan_columns(header: Sequence[str], mapping: Mapping[str, list[str]]) -> ColumnPlan:
    names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            names[i] = f"{name}_{i + 1}"
        seen.setdefault(name, i)
    lowered = {name.casefold(): i for i, name in reversed(list(enumerate(names)))}

    def find(target: str, column: str) -> int:
        index = lowered.get(column.casefold())
        if index is None:
            raise ListImportError(
                f"no column {column!r} in the header; the columns are: {', '.join(names)}", row=1, field=target
            )
        return index

    if "phone" in mapping:
        phone = find("phone", mapping["phone"][0])
        alternates = [find("alt_phone", c) for c in mapping.get("alt_phone", [])]
    else:
        found = [i for i, name in enumerate(names) if name.casefold() in PHONE_HEADERS]
        if not found and len(names) == 1:
            raise ListImportError(
                f"no phone column: the header is one column ({names[0][:60]!r}); if the cells are separated by "
                "something other than , ; tab or |, save the file with one of those as the delimiter, or name "
                "the column with --map phone=<column>", row=1, field="phone",
            )
        if not found:
            raise ListImportError(
                f"no phone column: none of the columns ({', '.join(names)}) looks like a phone number; "
                "name it with --map phone=<column>", row=1, field="phone",
            )
        phone, alternates = found[0], found[1:]
        alternates += [find("alt_phone", c) for c in mapping.get("alt_phone", [])]
    timezone = find("timezone", mapping["timezone"][0]) if "timezone" in mapping else lowered.get("timezone")
    priority = find("priority", mapping["priority"][0]) if "priority" in mapping else lowered.get("priority")
    renamed = {find(target, cols[0]): target for target, cols in mapping.items() if target not in SPECIAL_TARGETS}
    used = {phone, *alternates, timezone, priority}
    fields = tuple((renamed.get(i, name), i) for i, name in enumerate(names) if i not in used)
    return ColumnPlan(phone, tuple(dict.fromkeys(alternates)), timezone, priority, fields, tuple(names))


@lru_cache(maxsize=1024)
def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _lead_rows(table: Table, plan: ColumnPlan, region: str, default_zone: str, report: ImportReport,
               progress: Progress | None, zone_sets: dict[tuple[str, ...], int]):
    """Yields one COPY record per good row; records every bad or duplicate row in ``report``."""
    first_row: dict[str, int] = {}
    width = len(plan.header)
    for number, cells in table.rows:
        report.rows_read += 1
        if progress and report.rows_read % 5000 == 0:
            progress(table.consumed[0], table.size)
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            report.errors.append(RowProblem(number, "*", f"{len(cells)} cells but the header has {width}"))
            continue
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        raw = cells[plan.phone]
        try:
            phone = normalize(raw, region)
        except PhoneError as exc:
            report.errors.append(RowProblem(number, plan.header[plan.phone], str(exc), raw))
            continue
        problem = False
        alternates: list[str] = []
        for index in plan.alt_phones:
            if cells[index].strip():
                try:
                    alternate = normalize(cells[index], region)
                except PhoneError as exc:
                    report.errors.append(RowProblem(number, plan.header[index], str(exc), cells[index]))
                    problem = True
                    continue
                alternates.append(alternate.e164)
                if alternate.timezones and alternate.timezones not in zone_sets:
                    # known to the compliance gate from the start, for when the lead moves on to this number
                    zone_sets[alternate.timezones] = len(zone_sets) + 1
        zone: str | None
        zones: tuple[str, ...]
        if plan.timezone is not None and cells[plan.timezone].strip():
            zone = cells[plan.timezone].strip()
            if not _zone_ok(zone):
                report.errors.append(RowProblem(number, plan.header[plan.timezone],
                                                "unknown time zone (use IANA names like Europe/Moscow)", zone))
                problem = True
            zones = (zone,)
        else:
            zones = phone.timezones or (default_zone,)
            zone = zones[0] if len(zones) == 1 else None
        priority = 0
        if plan.priority is not None and cells[plan.priority].strip():
            try:
                priority = int(cells[plan.priority])
            except ValueError:
                report.errors.append(RowProblem(number, plan.header[plan.priority], "not a whole number",
                                                cells[plan.priority]))
                problem = True
        if problem:
            continue
        # One person, one lead: a number already seen on an earlier row, as its main or another number,
        # makes this row a duplicate of it (else both leads would ring the same phone).
        numbers = [phone.e164, *alternates]
        shared = next((n for n in numbers if n in first_row), None)
        if shared is not None:
            report.duplicates_in_file += 1
            how = "" if shared == phone.e164 else ", one of this row's other numbers"
            report.skipped.append(RowProblem(number, plan.header[plan.phone],
                                             f"duplicate of row {first_row[shared]} ({shared}{how})", raw))
            continue
        for n in numbers:
            first_row.setdefault(n, number)
        fields = {name: cells[index] for name, index in plan.fields}
        zone_key = zone_sets.get(zones)
        if zone_key is None:
            zone_key = zone_sets[zones] = len(zone_sets) + 1
        yield (number, phone.e164, [a for a in alternates if a != phone.e164], zone, zone_key, priority,
               _to_json(fields))


_to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(…, ensure_ascii=False) builds one per call


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


async def import_file(
    conn: asyncpg.Connection,
    *,
    campaign_id: int,
    path: Path,
    now: datetime,
    mapping: str | Mapping[str, list[str]] | None = None,
    region: str | None = None,
    encoding: str | None = None,
    allow_partial: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Load ``path`` into the campaign. Raises ListImportError (nothing loaded) for a file that cannot be
    read, ImportRejected (nothing loaded, report attached) for bad rows unless ``allow_partial``."""
    path = Path(path)
    campaign = await conn.fetchrow("SELECT timezone, default_region FROM campaign WHERE id = $1", campaign_id)
    if campaign is None:
        raise ListImportError(f"no campaign with id {campaign_id}")
    region = (region or campaign["default_region"]).upper()
    normalize_check(region)
    columns = parse_map(mapping) if isinstance(mapping, str | None) else dict(mapping)
    table = open_table(path, encoding=encoding)
    plan = plan_columns(table.header, columns)
    report = ImportReport(path, table.kind, table.encoding, table.delimiter, plan=plan.describe(), dry_run=dry_run)
    try:
        async with conn.transaction():
            await _load(conn, campaign_id, table, plan, region, campaign["timezone"], report, progress, now,
                        allow_partial, dry_run)
    except _DryRun:
        pass
    return report


def normalize_check(region: str) -> None:
    try:
        normalize("+14155550100", region)  # raises for an unknown default region, whatever the number
    except PhoneError as exc:
        raise ListImportError(str(exc), field="region") from None


CHUNK_ROWS = 20_000


async def _load(conn: asyncpg.Connection, campaign_id: int, table: Table, plan: ColumnPlan, region: str,
                default_zone: str, report: ImportReport, progress: Progress | None, now: datetime,
                allow_partial: bool, dry_run: bool) -> None:
    """Parse and insert at once: while PostgreSQL inserts one chunk (COPY into a temporary table, then one
    ``INSERT … SELECT`` that screens DNC numbers and skips those already in the campaign; index upkeep, foreign
    keys and WAL make this the larger half of the work), Python parses the next, so the two cores work side
    by side. All inside the caller's transaction, so an error or a dry run still leaves nothing behind."""
    report.list_id = await conn.fetchval(
        """INSERT INTO call_list (campaign_id, name, source, loaded_at) VALUES ($1, $2, $3, $4) RETURNING id""",
        campaign_id, report.path.stem, str(report.path), now,
    )
    await conn.execute(
        """CREATE TEMP TABLE lead_import (source_row integer, phone text, alt_phones text[], timezone text,
                                          timezone_set integer, priority integer, fields jsonb) ON COMMIT DROP"""
    )
    zone_sets: dict[tuple[str, ...], int] = {}
    chunks: asyncio.Queue[list[tuple] | None] = asyncio.Queue(maxsize=2)

    async def parse() -> None:
        chunk: list[tuple] = []
        try:
            for record in _lead_rows(table, plan, region, default_zone, report, progress, zone_sets):
                chunk.append(record)
                if len(chunk) >= CHUNK_ROWS:
                    await chunks.put(chunk)
                    chunk = []
                elif len(chunk) % 500 == 0:
                    await asyncio.sleep(0)  # let the inserting task read its reply and send the next chunk
            if chunk:
                await chunks.put(chunk)
        finally:
            await chunks.put(None)

    parser = asyncio.create_task(parse())
    set_ids: dict[int, int] = {}
    try:
        while (chunk := await chunks.get()) is not None:
            await _insert_chunk(conn, campaign_id, report, plan, chunk, zone_sets, set_ids)
    finally:
        if not parser.done():
            parser.cancel()
    await parser  # re-raises a ListImportError met while reading the file
    if progress:
        progress(table.size, table.size)
    if report.rows_read == 0:
        raise ListImportError(f"{report.path.name} has a header but no lead rows")
    report.skipped.sort(key=lambda p: p.row)
    if report.errors and not allow_partial:
        raise ImportRejected(report.errors, report)
    if dry_run:
        raise _DryRun
    await conn.execute("UPDATE call_list SET rows_loaded = $2 WHERE id = $1", report.list_id, report.loaded)


async def _insert_chunk(conn: asyncpg.Connection, campaign_id: int, report: ImportReport, plan: ColumnPlan,
                        chunk: list[tuple], zone_sets: dict[tuple[str, ...], int], set_ids: dict[int, int]) -> None:
    new = [(zones, key) for zones, key in list(zone_sets.items()) if key not in set_ids]
    if new:
        for (_, key), set_id in zip(new, await zone_set_ids(conn, [z for z, _ in new]), strict=True):
            set_ids[key] = set_id
    scope = f"campaign:{campaign_id}"
    await conn.copy_records_to_table(
        "lead_import", records=[(r[0], r[1], r[2], r[3], set_ids[r[4]], r[5], r[6]) for r in chunk])
    inserted = await conn.fetch(
        """INSERT INTO lead (campaign_id, list_id, source_row, phone, alt_phones, timezone, timezone_set,
                             priority, fields)
           SELECT $1, $2, source_row, phone, alt_phones, timezone, timezone_set, priority, fields
           FROM lead_import i
           WHERE NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = i.phone AND d.scope IN ('company', $3))
           ON CONFLICT (campaign_id, phone) DO NOTHING
           RETURNING source_row""",
        campaign_id, report.list_id, scope,
    )
    await conn.execute("TRUNCATE lead_import")
    rows = [r[0] for r in chunk]
    phones = [r[1] for r in chunk]
    report.loaded += len(inserted)
    if len(inserted) == len(rows):
        return
    kept = {r["source_row"] for r in inserted}
    missing = [(row, phone) for row, phone in zip(rows, phones, strict=True) if row not in kept]
    screened = {r["r"] for r in await conn.fetch(
        """SELECT t.r FROM unnest($1::int[], $2::text[]) AS t(r, p)
           WHERE EXISTS (SELECT 1 FROM dnc d WHERE d.phone = t.p AND d.scope IN ('company', $3))""",
        [m[0] for m in missing], [m[1] for m in missing], scope,
    )}
    column = plan.header[plan.phone]
    for row, phone in missing:
        if row in screened:
            report.dnc_screened += 1
            report.skipped.append(RowProblem(row, column, "on a do-not-call list", phone))
        else:
            report.duplicates_in_campaign += 1
            report.skipped.append(RowProblem(row, column, "already in the campaign", phone))


def write_problems(path: Path, problems: Sequence[RowProblem]) -> None:
    """The row-level report as CSV (UTF-8 with BOM so Excel shows Cyrillic): row, field, reason, value."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "field", "reason", "value"])
        for p in problems:
            writer.writerow([p.row, p.field, p.reason, p.value])
