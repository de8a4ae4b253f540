"""Loading a list into a campaign: all or nothing, every problem by row and field."""

from __future__ import annotations

import csv
from pathlib import Path

import asyncpg
import openpyxl
import pytest

from lists.errors import ImportRejected, ListImportError
from lists.importer import import_file, write_problems
from tests.lists.conftest import MORNING, make_campaign

pytestmark = pytest.mark.db

GOOD = (
    "ФИО;Телефон;Моб;Город\n"
    "Иванов;8 (495) 937-49-55;+7 916 123-45-67;Москва\n"
    "Петрова;8 (812) 555-12-34;;Санкт-Петербург\n"
)


def write(tmp_path: Path, text: str, encoding: str = "cp1251", name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def lead_count(conn: asyncpg.Connection, campaign_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM lead WHERE campaign_id = $1", campaign_id)


async def test_a_cp1251_excel_export_loads_with_mapped_columns_and_fields(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    report = await import_file(conn, campaign_id=campaign_id, path=path, now=MORNING,
                               mapping="phone=Телефон,alt_phone=Моб,name=ФИО")
    assert report.loaded == 2 and report.encoding == "cp1251" and report.delimiter == ";"
    rows = await conn.fetch("SELECT phone, alt_phones, timezone, fields, source_row FROM lead ORDER BY source_row")
    assert [r["phone"] for r in rows] == ["+74959374955", "+78125551234"]
    assert rows[0]["alt_phones"] == ["+79161234567"]
    assert rows[0]["timezone"] == "Europe/Moscow"
    assert '"name": "Иванов"' in rows[0]["fields"] and '"Город": "Москва"' in rows[0]["fields"]
    assert await conn.fetchval("SELECT rows_loaded FROM call_list WHERE id = $1", report.list_id) == 2


async def test_a_bad_row_loads_nothing_and_is_named_by_row_and_field(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "Сидоров;8 (999) 1;;Омск\n")
    with pytest.raises(ImportRejected) as err:
        await import_file(conn, campaign_id=campaign_id, path=path, now=MORNING)
    [problem] = err.value.problems
    assert (problem.row, problem.field, problem.value) == (4, "Телефон", "8 (999) 1")
    assert await lead_count(conn, campaign_id) == 0
    assert await conn.fetchval("SELECT count(*) FROM call_list") == 0


async def test_allow_partial_loads_the_good_rows_and_reports_the_bad(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "Сидоров;8 (999) 1;;Омск\n")
    report = await import_file(conn, campaign_id=campaign_id, path=path, now=MORNING, allow_partial=True)
    assert report.loaded == 2
    assert [(p.row, p.field) for p in report.errors] == [(4, "Телефон")]
    errors = tmp_path / "errors.csv"
    write_problems(errors, report.errors)
    with errors.open(encoding="utf-8-sig") as f:
        assert list(csv.reader(f))[1][:2] == ["4", "Телефон"]


async def test_dry_run_checks_everything_and_loads_nothing(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    report = await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, GOOD), now=MORNING, dry_run=True)
    assert report.loaded == 2
    assert await lead_count(conn, campaign_id) == 0


async def test_duplicates_in_the_file_and_in_the_campaign_are_skipped_and_reported(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, GOOD), now=MORNING)
    again = "ФИО;Телефон\nНовый;+7 383 222-33-44\nКопия;+7 383 222 33 44\nИванов;84959374955\n"
    report = await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, again, name="b.csv"), now=MORNING)
    assert report.loaded == 1
    assert report.duplicates_in_file == 1 and report.duplicates_in_campaign == 1
    assert {(p.row, p.reason.split(" (")[0]) for p in report.skipped} == {
        (3, "duplicate of row 2"), (4, "already in the campaign")}
    assert await lead_count(conn, campaign_id) == 3


async def test_a_number_that_is_one_rows_main_and_anothers_second_is_a_duplicate(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    text = ("ФИО;Телефон;Моб\n"
            "Иванов;+7 495 937-49-55;+7 916 123-45-67\n"       # row 2: main X, second Y
            "Иванова;+7 916 123-45-67;\n"                      # row 3: main Y — Иванов's second number
            "Сидоров;+7 383 222-33-44;+7 495 937-49-55\n")     # row 4: second X — Иванов's main number
    report = await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, text), now=MORNING,
                               mapping="phone=Телефон,alt_phone=Моб", allow_partial=True)
    assert report.loaded == 1 and report.duplicates_in_file == 2
    assert {(p.row, p.reason.split(" (")[0]) for p in report.skipped} == {
        (3, "duplicate of row 2"), (4, "duplicate of row 2")}
    assert await lead_count(conn, campaign_id) == 1


async def test_numbers_on_dnc_lists_are_screened_out_and_counted(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    await conn.execute("INSERT INTO dnc (phone, scope, source) VALUES ('+74959374955', 'company', 'test')")
    await conn.execute("INSERT INTO dnc (phone, scope, source) VALUES ('+78125551234', $1, 'test')",
                       f"campaign:{campaign_id}")
    other = await make_campaign(conn, "other")
    await conn.execute("INSERT INTO dnc (phone, scope, source) VALUES ('+73832223344', $1, 'test')",
                       f"campaign:{other}")
    text = GOOD + "Новый;+7 383 222-33-44;;Новосибирск\n"
    report = await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, text), now=MORNING)
    assert report.dnc_screened == 2 and report.loaded == 1
    assert await conn.fetchval("SELECT phone FROM lead WHERE campaign_id = $1", campaign_id) == "+73832223344"


async def test_a_timezone_column_overrides_the_number(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    text = "phone,tz\n+7 916 123-45-67,Asia/Novosibirsk\n+7 916 123-45-68,\n"
    report = await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, text, "utf-8"), now=MORNING,
                               mapping="timezone=tz")
    assert report.loaded == 2
    rows = await conn.fetch(
        """SELECT l.timezone, s.zones FROM lead l JOIN timezone_set s ON s.id = l.timezone_set
           ORDER BY l.source_row""")
    assert (rows[0]["timezone"], rows[0]["zones"]) == ("Asia/Novosibirsk", ["Asia/Novosibirsk"])
    assert rows[1]["timezone"] is None and len(rows[1]["zones"]) > 5  # a mobile: every Russian zone


async def test_an_unknown_time_zone_is_a_row_error(conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    text = "phone,timezone\n+74959374955,Mars/Olympus\n"
    with pytest.raises(ImportRejected) as err:
        await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, text, "utf-8"), now=MORNING)
    assert err.value.problems[0].field == "timezone"


async def test_an_xlsx_list_loads(conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Телефон", "ФИО"])
    book.active.append([84959374955, "Иванов"])
    book.save(path)
    report = await import_file(conn, campaign_id=campaign_id, path=path, now=MORNING)
    assert report.loaded == 1 and report.kind == "xlsx"


BAD_FILES = {
    "zero bytes": (b"", "empty"),
    "binary garbage": (bytes(range(256)) * 64, "binary"),
    "wrong encoding": ("名前,電話\n山田,+81312345678\n".encode("shift_jis"), "encoding"),
    "missing phone column": ("ФИО;Город\nИванов;Москва\n".encode("cp1251"), "no phone column"),
    "header only": ("ФИО;Телефон\n".encode("cp1251"), "no lead rows"),
    "blank lines": (b"\n\n\n", "no rows"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_a_bad_file_gives_a_clear_error_and_loads_nothing(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path, case: str) -> None:
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ListImportError, match=message):
        await import_file(conn, campaign_id=campaign_id, path=path, now=MORNING)
    assert await lead_count(conn, campaign_id) == 0


async def test_a_100_mb_line_after_good_rows_loads_nothing(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("wb") as f:
        f.write(b"phone\n" + b"".join(f"+7916{n:07d}\n".encode() for n in range(100)))
        chunk = b"9" * 1_000_000
        for _ in range(100):
            f.write(chunk)
    with pytest.raises(ListImportError, match="longer than") as err:
        await import_file(conn, campaign_id=campaign_id, path=path, now=MORNING)
    assert err.value.row == 102
    assert await lead_count(conn, campaign_id) == 0


async def test_a_mapped_column_that_does_not_exist_names_the_columns(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    with pytest.raises(ListImportError, match="Город") as err:
        await import_file(conn, campaign_id=campaign_id, path=write(tmp_path, GOOD), now=MORNING,
                          mapping="phone=Tel")
    assert err.value.field == "phone"
