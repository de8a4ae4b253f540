"""Reading list files: encodings and delimiters Excel produces, and files that are not lists at all."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import openpyxl
import pytest

from lists.errors import ListImportError
from lists.sources import MAX_LINE_CHARS, open_table

ROWS = "ФИО;Телефон;Город\nИванов;8 (495) 937-49-55;Москва\nПетрова;+7 916 123-45-67;Тверь\n"


def workbook(path: Path, *rows: list[object]) -> Path:
    """An XLSX as a program writes it (openpyxl saves formulas without their values)."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def read(path: Path, **kwargs: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    table = open_table(path, **kwargs)
    return table.header, list(table.rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
def test_russian_excel_exports_read_the_same_in_every_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(ROWS.encode(encoding))
    header, rows = read(path)
    assert header == ["ФИО", "Телефон", "Город"]
    assert rows == [(2, ["Иванов", "8 (495) 937-49-55", "Москва"]), (3, ["Петрова", "+7 916 123-45-67", "Тверь"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_found_even_when_cells_contain_other_candidates(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "list.csv"
    rows = [["name", "phone", "note"], ["Ivanov, Ivan", "+74959374955", "a;b|c"], ["Petrov", "+79161234567", "x"]]
    text = "\n".join(delimiter.join(f'"{c}"' if any(d in c for d in ",;\t|") else c for c in row) for row in rows)
    path.write_text(text + "\n", encoding="utf-8")
    header, read_rows = read(path)
    assert header == rows[0]
    assert [cells for _, cells in read_rows] == rows[1:]


def test_excels_sep_line_sets_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("sep=;\nname;phone\nIvanov, Ivan;+74959374955\n", encoding="utf-8")
    assert read(path) == (["name", "phone"], [(2, ["Ivanov, Ivan", "+74959374955"])])


def test_a_one_column_list_of_numbers_is_a_list(tmp_path: Path) -> None:
    path = tmp_path / "phones.csv"
    path.write_text("phone\n+74959374955\n+79161234567\n", encoding="utf-8")
    assert read(path)[1] == [(2, ["+74959374955"]), (3, ["+79161234567"])]


def test_xlsx_numbers_typed_as_numbers_come_out_as_digits(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ФИО", "Телефон"])
    sheet.append(["Иванов", 74959374955])
    sheet.append([None, None])
    sheet.append(["Петрова", "+7 916 123-45-67"])
    book.save(path)
    header, rows = read(path)
    assert header == ["ФИО", "Телефон"]
    assert rows == [(2, ["Иванов", "74959374955"]), (4, ["Петрова", "+7 916 123-45-67"])]


def test_a_zero_byte_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ListImportError, match="empty"):
        open_table(path)


def test_a_file_of_blank_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(ListImportError, match="no rows"):
        open_table(path)


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 200)
    with pytest.raises(ListImportError, match="binary"):
        open_table(path)


def test_random_bytes_without_nul_are_not_taken_for_cp1251(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(b for b in range(1, 256) if b not in b"\n\r") * 100)
    with pytest.raises(ListImportError):
        open_table(path)


def test_an_encoding_that_is_neither_utf8_nor_russian_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "japanese.csv"
    path.write_bytes("名前,電話\n山田太郎,+81312345678\n佐藤花子,+81312345679\n".encode("shift_jis"))
    with pytest.raises(ListImportError, match="encoding"):
        open_table(path)


def test_a_wrong_encoding_given_by_the_user_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(("name;phone\n" + "Ivanov;+74959374955\n" * 3 + "Петров;+79161234567\n").encode("cp1251"))
    with pytest.raises(ListImportError, match="utf-8") as err:
        list(open_table(path, encoding="utf-8").rows)
    assert err.value.row is not None


def test_an_old_xls_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(ListImportError, match="xlsx"):
        open_table(path)


def test_a_100_mb_single_line_is_refused_without_reading_it_into_memory(tmp_path: Path) -> None:
    path = tmp_path / "one-line.csv"
    with path.open("wb") as f:
        chunk = b"1234567890;" * 100_000
        for _ in range(100 * 1024 * 1024 // len(chunk)):
            f.write(chunk)
    assert path.stat().st_size >= 100_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ListImportError, match="longer than") as err:
            open_table(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.row == 1
    assert peak < 20 * MAX_LINE_CHARS  # a few line buffers, never the 100 MB


def _utf16_noise(seed: int) -> bytes:
    """Bytes behind a UTF-16 BOM that decode without error (no lone surrogates) into CJK and Hangul soup:
    what a binary file that happens to start with FF FE reads as."""
    import random
    rng = random.Random(seed)
    body = bytearray()
    for _ in range(3000):
        body += bytes([rng.randrange(256), rng.choice([b for b in range(0x40, 0xD8)])])
    return b"\xff\xfe" + bytes(body)


def test_a_binary_file_that_decodes_as_utf16_is_refused_naming_the_file(tmp_path: Path) -> None:
    """It was read as one garbage column, and the refusal printed 3,000 CJK characters of it."""
    path = tmp_path / "photo.csv"
    path.write_bytes(_utf16_noise(1))
    with pytest.raises(ListImportError) as err:
        open_table(path)
    message = str(err.value)
    assert "photo.csv" in message and "not text" in message and len(message) < 300


def test_a_utf16_list_of_chinese_names_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "china.csv"
    path.write_bytes("姓名\t电话\n王伟\t+8613812345678\n李娜\t+8613912345678\n".encode("utf-16"))
    header, rows = read(path)
    assert header == ["姓名", "电话"] and len(rows) == 2


def test_an_xlsx_workbook_named_csv_is_read_as_the_workbook(tmp_path: Path) -> None:
    path = workbook(tmp_path / "list.csv", ["phone", "name"], ["+13055550100", "Ann"])
    table = open_table(path)
    assert (table.kind, table.header, list(table.rows)) == ("xlsx", ["phone", "name"], [(2, ["+13055550100", "Ann"])])


def test_a_zip_that_holds_no_workbook_says_so_in_our_words(tmp_path: Path) -> None:
    import zipfile
    path = tmp_path / "lists.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trial.csv", "phone\n+13055550100\n")
    with pytest.raises(ListImportError) as err:
        open_table(path)
    message = str(err.value)
    assert "lists.csv" in message and "trial.csv" in message and "openpyxl" not in message


def test_a_wrong_encoding_in_the_first_lines_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(b"\xff\xfe" + b"\x00\xdc" * 10)     # UTF-16 with a lone low surrogate at once
    with pytest.raises(ListImportError) as err:
        open_table(path)
    assert "odd.csv" in str(err.value) and "line 1" in str(err.value) and "line 0" not in str(err.value)


def test_a_list_cut_by_an_unknown_delimiter_says_the_header_is_one_column() -> None:
    """"phone:name" read as one column named "phone:name": the refusal says why no phone column was found."""
    from lists.importer import plan_columns
    with pytest.raises(ListImportError) as err:
        plan_columns(["phone:name"], {})
    assert "one column" in str(err.value) and "delimiter" in str(err.value)


def test_an_xlsx_formula_with_no_saved_value_names_its_cell_and_the_remedy(tmp_path: Path) -> None:
    # a program (here openpyxl) writes formulas without their values; only a spreadsheet program computes them
    path = workbook(tmp_path / "list.xlsx", ["name", "phone", "code"], ["Ann", "+13055550100", "=1+1"],
                    ["Bob", '="+1305555"&"0101"', "x"])
    table = open_table(path)
    with pytest.raises(ListImportError) as err:
        list(table.rows)
    message = str(err.value)
    assert "row 2, column C (code)" in message and "formula" in message and "no saved value" in message
    assert "save" in message and "\n" not in message


def test_an_xlsx_formula_with_its_saved_value_reads_as_the_value(tmp_path: Path) -> None:
    import zipfile
    written = workbook(tmp_path / "written.xlsx", ["name", "phone"], ["Ann", '="+1305555"&"0100"'])
    path = tmp_path / "saved.xlsx"   # as a spreadsheet program saves it: the value beside the formula
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v />", b"<v>+13055550100</v>").replace(b'<c r="B2"', b'<c r="B2" t="str"')
            target.writestr(item, data)
    header, rows = read(path)
    assert (header, rows) == (["name", "phone"], [(2, ["Ann", "+13055550100"])])


def test_an_xlsx_whose_first_sheet_is_empty_names_the_sheets_that_hold_rows(tmp_path: Path) -> None:
    """Seen by hand: "the first sheet is empty" for a workbook whose list was on its second sheet, and
    nothing said which sheet is read or where the rows were."""
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.create_sheet("Notes")
    book.create_sheet("Leads").append(["phone"])
    book["Leads"].append(["+13055550100"])
    book.save(tmp_path / "list.xlsx")
    with pytest.raises(ListImportError) as err:
        open_table(tmp_path / "list.xlsx")
    assert str(err.value) == ("list.xlsx: the first sheet ('Cover') is empty, and only the first sheet is read: "
                              "move the list's sheet first (sheets with rows: 'Leads')")
