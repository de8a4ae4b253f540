"""Reading a list file (CSV or XLSX) into a header and rows of text, whatever Excel did to it.

Why the care: call lists come from Excel exports. Russian Excel writes CSV in cp1251 with ';' between
cells; newer versions write UTF-8 with a BOM; "Unicode text" is UTF-16 with tabs. A file that is none of
these (a PDF, a zip, random bytes, a 100 MB line without a newline) must fail fast with a clear message and
without reading it all into memory: lines are read with a hard length bound.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lists.errors import ListImportError

MAX_LINE_CHARS = 1 << 20  # a real lead row is under a few KB; 1 Mi characters means "not a list"
SAMPLE_BYTES = 1 << 16
MIN_ASCII_SHARE = 0.1     # of a list's first lines (names in Chinese with +86 numbers: about 80 %)
DELIMITERS = (",", ";", "\t", "|")
_CHUNK = 1 << 20
_RUSSIAN = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ№«»–—…“”„’")


@dataclass
class Table:
    """A header and an iterator of (row number, cells); ``consumed`` grows as rows are read (progress)."""

    kind: str
    encoding: str | None
    delimiter: str | None
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    size: int
    consumed: list[int] = field(default_factory=lambda: [0])


def open_table(path: Path, *, encoding: str | None = None) -> Table:
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError as exc:
        raise ListImportError(f"cannot read {path}: {exc.strerror}") from None
    if size == 0:
        raise ListImportError(f"{path.name} is empty (0 bytes): export the list again")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, size)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ListImportError(f"{path.name} is an old binary Excel (.xls) file: save it as .xlsx or CSV")
    if head.startswith((b"%PDF", b"\x89PNG", b"\x1f\x8b", b"\x7fELF")):
        raise ListImportError(f"{path.name} is not a list (binary file): give a CSV or XLSX file")
    encoding = encoding or _detect_encoding(path, head)
    return _open_csv(path, size, encoding)


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise ListImportError(
            f"{path.name} looks binary (it has NUL bytes): give a CSV or XLSX file "
            "(a UTF-16 text without a BOM needs --encoding utf-16-le)"
        )
    if _decodes(path, "utf-8"):
        return "utf-8-sig"  # reads plain UTF-8 too, and drops a BOM when there is one
    if _decodes(path, "cp1251") and _plausible_cp1251(head):
        return "cp1251"
    raise ListImportError(
        f"cannot tell the encoding of {path.name}: it is not UTF-8 and does not read as Russian cp1251; "
        "save it as 'CSV UTF-8' or pass --encoding"
    )


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with path.open("rb") as f:
        try:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _plausible_cp1251(head: bytes) -> bool:
    """cp1251 decodes nearly any bytes, so also ask: are the non-ASCII characters mostly Russian letters,
    and is the text free of control characters? Japanese or random bytes are not."""
    text = head.decode("cp1251", errors="replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if controls > len(text) // 200:
        return False
    if not non_ascii:
        return True
    return sum(ch in _RUSSIAN for ch in non_ascii) >= 0.8 * len(non_ascii)


def _bounded_lines(stream: io.TextIOBase, consumed: list[int], path: Path) -> Iterator[str]:
    number = 0
    while True:
        try:
            line = stream.readline(MAX_LINE_CHARS + 1)
        except UnicodeDecodeError as exc:
            raise ListImportError(
                f"{path.name} is not valid {stream.encoding} on line {number + 1} ({exc.reason}): pass the right "
                "--encoding or save the file as 'CSV UTF-8'",
                row=number + 1,
            ) from None
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ListImportError(
                f"line {number} of {path.name} is longer than {MAX_LINE_CHARS:,} characters: "
                "this is not a CSV list (or its line ends are broken)",
                row=number,
            )
        consumed[0] += len(line)
        yield line


def _reads_as_text(lines: list[str]) -> bool:
    """Whatever the names are written in, a list's lines carry digits, '+' and delimiters in ASCII: a
    binary file decoded as UTF-16 (any even run of bytes behind FF FE decodes) is CJK and Hangul soup with
    almost none, and would be read as one garbage column."""
    text = "".join(lines)
    ascii_text = sum(1 for ch in text if " " <= ch <= "~" or ch in "\t\r\n")
    return ascii_text >= MIN_ASCII_SHARE * len(text)


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the header into most cells and the other lines into as many."""
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        counts = [len(cells) for cells in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        consistency = sum(c == counts[0] for c in counts) / len(counts)
        score = (consistency, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _open_csv(path: Path, size: int, encoding: str) -> Table:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ListImportError(f"unknown encoding {encoding!r}: try utf-8, cp1251 or utf-16") from None
    stream = path.open("r", encoding=encoding, errors="strict", newline="")
    consumed = [0]
    lines = _bounded_lines(stream, consumed, path)
    sample: list[str] = []
    try:
        for line in lines:
            sample.append(line)
            if len(sample) >= 50:
                break
    except ListImportError:
        stream.close()
        raise
    if not any(line.strip() for line in sample):
        stream.close()
        raise ListImportError(f"{path.name} has no rows (only blank lines)")
    if not _reads_as_text(sample):
        stream.close()
        raise ListImportError(f"{path.name} does not read as a list: in {encoding} its first lines are not text "
                              "(a binary file, or the wrong --encoding); give a CSV or XLSX file")
    first = sample[0].strip()
    if len(first) == 5 and first.lower().startswith("sep="):
        delimiter = first[4]  # Excel's own hint line; Excel hides it, so the header stays row 1
        sample.pop(0)
        if not any(line.strip() for line in sample):
            stream.close()
            raise ListImportError(f"{path.name} has no rows (only Excel's sep= line)")
    else:
        delimiter = _sniff_delimiter([line for line in sample if line.strip()] or sample)

    def all_lines() -> Iterator[str]:
        yield from sample
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        stream.close()
        raise ListImportError(f"broken CSV header ({exc})", row=1) from None
    rows = _after_header(reader, stream)
    return Table("csv", encoding, delimiter, [h.strip() for h in header], rows, size, consumed)


def _after_header(reader: Iterator[list[str]], stream: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            yield number, cells
    except csv.Error as exc:
        raise ListImportError(f"broken CSV ({exc}); check the quotes on this row", row=number + 1) from None
    finally:
        stream.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps phone numbers typed as numbers as floats
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _open_xlsx(path: Path, size: int) -> Table:
    import openpyxl  # lazily: most lists are CSV
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ListImportError(f"{path.name} starts like a zip (XLSX) file but is damaged ({exc}): export it "
                              "again") from None
    if "xl/workbook.xml" not in names:
        inside = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        raise ListImportError(f"{path.name} is a zip archive, not an XLSX workbook (it holds {inside or 'nothing'})"
                              ": unzip it and load the list inside")
    # a file object, not the path: openpyxl refuses a workbook by its name's extension (an XLSX saved as
    # list.csv), and the first bytes already said it is one; openpyxl leaves a file object open, so we close it
    source = path.open("rb")
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        source.close()
        raise ListImportError(f"{path.name} is a zip but not a readable XLSX workbook ({exc})") from None
    except Exception as exc:  # openpyxl's own parse errors have no common base
        source.close()
        raise ListImportError(f"{path.name} is not a readable XLSX workbook ({exc})") from None

    def close() -> None:
        book.close()
        source.close()

    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header_cells = next(rows, None)
    if header_cells is None:
        others = [f"'{other.title}'" for other in book.worksheets[1:] if next(other.iter_rows(), None) is not None]
        close()
        raise ListImportError(f"{path.name}: the first sheet ('{sheet.title}') is empty" + (
            f", and only the first sheet is read: move the list's sheet first (sheets with rows: {', '.join(others)})"
            if others else ""))
    consumed = [0]
    total = max(sheet.max_row or 1, 1)
    # a formula's value is the one a spreadsheet program saved beside it; a file written by a program
    # holds the formula alone, which reads as an empty cell: the formulas are read alongside to say so
    formulas = _formula_rows(path, names)
    if formulas is not None:
        next(formulas, None)

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(rows, start=2):
                consumed[0] = size * number // total
                if formulas is not None:
                    _refuse_unsaved_formula(path, header, number, values, next(formulas, ()))
                cells = [_cell(v) for v in values]
                if any(cells):
                    yield number, cells
        finally:
            close()
            if formulas is not None:
                formulas.close()

    header = [_cell(h) for h in header_cells]
    while header and not header[-1]:
        header.pop()  # openpyxl reports the sheet's used width, often wider than the header
    return Table("xlsx", None, None, header, records(), size, consumed)


def _formula_rows(path: Path, names: list[str]) -> Generator[tuple[object, ...], None, None] | None:
    """The first sheet's cells as written (formulas as text), or None when no sheet holds a formula:
    reading a workbook twice costs time, a quick look at the sheets' XML spares it most files."""
    with zipfile.ZipFile(path) as archive:
        if not any(_holds_formula(archive, name) for name in names
                   if name.startswith("xl/worksheets/") and name.endswith(".xml")):
            return None

    import openpyxl

    def rows() -> Generator[tuple[object, ...], None, None]:
        with path.open("rb") as source:
            book = openpyxl.load_workbook(source, read_only=True, data_only=False)
            try:
                yield from book.worksheets[0].iter_rows(values_only=True)
            finally:
                book.close()
    return rows()


def _holds_formula(archive: zipfile.ZipFile, name: str) -> bool:
    tail = b""
    with archive.open(name) as xml:
        while chunk := xml.read(1 << 20):
            seen = tail + chunk
            if b"<f>" in seen or b"<f " in seen or b":f>" in seen or b":f " in seen:
                return True
            tail = seen[-3:]
    return False


def _refuse_unsaved_formula(path: Path, header: list[str], number: int, values: tuple[object, ...],
                            written: tuple[object, ...]) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    for column, (value, formula) in enumerate(zip(values, written, strict=False), start=1):
        if value is None and (isinstance(formula, ArrayFormula | DataTableFormula)
                              or (isinstance(formula, str) and formula.startswith("="))):
            text = formula if isinstance(formula, str) else getattr(formula, "text", None) or "a table formula"
            name = f" ({header[column - 1]})" if column <= len(header) and header[column - 1] else ""
            raise ListImportError(
                f"{path.name} row {number}, column {get_column_letter(column)}{name}: a formula ({text}) with no "
                "saved value (the program that wrote the file did not compute it): open the file in a "
                "spreadsheet program, save it, and load it again")
