"""Reading and writing the spreadsheets people keep: XLSX, or CSV in UTF-8 (with or without
Excel's byte-order mark) or GB18030, which Chinese Excel writes. Every uploaded workbook (the
places, people and tenant imports, an XLSForm checklist) is checked here before any parser sees
it, and every file the product offers for download is written here.

Reading is bounded before a cell is read: a file over the byte limit, a zip whose parts unpack
past a limit or use a method other than stored/deflate, a DTD or entity (the XML of an XLSX
never needs one), malformed XML, a sheet whose declared or actual extent passes the row or
column limit, a CSV field longer than a cell may be: each is refused with the limit it broke.
A 1.6 KB workbook with one cell at XFD1048576 once made the reader ask for 512 GB.

Writing never makes a formula: text is written as text in XLSX, and a CSV field a spreadsheet
would run (starting with = + - @, tab or CR) is written behind an apostrophe."""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from xml.parsers import expat

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from python_calamine import CalamineError, CalamineWorkbook


@dataclass(frozen=True)
class SheetLimits:
    """What an uploaded spreadsheet may be; the app's settings (``SHEET_MAX_*``) fill it."""

    max_bytes: int = 5_000_000
    max_rows: int = 20_000  # an estate's places, one per row
    max_columns: int = 50
    max_unpacked_bytes: int = 50_000_000  # an XLSX's parts unzipped: a full 20,000 x 50 sheet fits
    max_cell_chars: int = 32_767  # Excel's own limit for one cell


class SheetRefused(ValueError):
    def __init__(self, code: str, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.code = code  # not_a_sheet, encoding, too_large, unpacks_too_large, compression,
        # xml_entities, too_many_rows, too_many_columns, cell_too_long, empty
        self.facts = () if limit is None else (limit,)


# The r attribute of a cell (r="AB12") and of a row (r="12"), in any order among its attributes.
_COLUMN_OF = re.compile(rb'\sr="([A-Z]{1,4})')
_ROW_OF = re.compile(rb'\sr="[A-Z]{0,4}([0-9]{1,8})"')
_DIMENSION = re.compile(rb'dimension ref="([A-Z]{0,4})([0-9]{0,8}):?([A-Z]{0,4})([0-9]{0,8})"')
_CHUNK = 1 << 16
_OVERLAP = 64  # a reference cut in two by a chunk's end is read whole with the next chunk


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


class _Extent:
    """The farthest row and column a worksheet's XML names, read as it streams past (a set of
    the distinct references per chunk: a 5,000-row sheet is checked in a few milliseconds)."""

    def __init__(self, limits: SheetLimits) -> None:
        self.limits = limits
        self.row_tags = 0
        self.tail = b""

    def see(self, chunk: bytes) -> None:
        self.row_tags += chunk.count(b"<row") + chunk.count(b":row ")
        text, self.tail = self.tail + chunk, chunk[-_OVERLAP:]
        for match in _DIMENSION.finditer(text):
            self._check_column(match.group(1) or b"A", match.group(3) or b"A")
            self._check_row(match.group(2) or b"1", match.group(4) or b"1")
        self._check_column(*set(_COLUMN_OF.findall(text)))
        self._check_row(*set(_ROW_OF.findall(text)))
        if self.row_tags > self.limits.max_rows + 1:  # rows written without numbers
            self._check_row(str(self.row_tags).encode())

    def _check_column(self, *letters: bytes) -> None:
        if letters and max(_column_number(found) for found in letters) > self.limits.max_columns:
            raise SheetRefused("too_many_columns", "a cell beyond the column limit", self.limits.max_columns)

    def _check_row(self, *digits: bytes) -> None:
        if digits and max(int(found) for found in digits) > self.limits.max_rows + 1:  # and the header
            raise SheetRefused("too_many_rows", "a row beyond the row limit", self.limits.max_rows)


def _refuse_entities(*_args) -> None:
    raise SheetRefused("xml_entities", "the workbook's XML declares a DTD or an entity")


def check_workbook(data: bytes, limits: SheetLimits) -> None:
    """Refuse an XLSX that could not be read within the limits; read nothing else. Each part is
    unzipped in chunks and parsed as it streams, so memory stays bounded whatever the file says."""
    if len(data) > limits.max_bytes:
        raise SheetRefused("too_large", f"more than {limits.max_bytes} bytes", limits.max_bytes)
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        parts = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise SheetRefused("not_a_sheet", f"not an XLSX workbook: {error}") from None
    unpacked = 0
    for part in parts:
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SheetRefused("compression", f"{part.filename}: compression method {part.compress_type}")
        parser = expat.ParserCreate()
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse_entities
        is_xml = part.filename.endswith((".xml", ".rels"))
        extent = _Extent(limits) if re.fullmatch(r"xl/worksheets/[^/]+\.xml", part.filename) else None
        try:
            with book.open(part) as stream:
                while chunk := stream.read(_CHUNK):
                    unpacked += len(chunk)
                    if unpacked > limits.max_unpacked_bytes:
                        raise SheetRefused(
                            "unpacks_too_large", "the parts unpack past the limit", limits.max_unpacked_bytes
                        )
                    if is_xml:
                        parser.Parse(chunk, False)
                    if extent is not None:
                        extent.see(chunk)
            if is_xml:
                parser.Parse(b"", True)
        except SheetRefused:
            raise
        except expat.ExpatError as error:
            raise SheetRefused("not_a_sheet", f"{part.filename}: malformed XML ({error})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as error:
            raise SheetRefused("not_a_sheet", f"{part.filename}: {error}") from None


# Characters that are in GB18030 but hardly ever in a Chinese spreadsheet: text of another
# encoding (Shift-JIS, Big5) decodes as GB18030 without error, mostly into these.
_MOJIBAKE_SHARE = 0.25


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030; refused when neither reads
    cleanly, rather than imported as mojibake."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise SheetRefused("encoding", "neither UTF-8 nor GB18030") from None
    wide = [char for char in text if ord(char) > 0x7F]
    rare = sum(1 for char in wide if not _in_gb2312(char))
    if wide and rare > len(wide) * _MOJIBAKE_SHARE:
        raise SheetRefused("encoding", "GB18030 reads it as mostly rare characters: another encoding")
    return text


def _in_gb2312(char: str) -> bool:
    """Among the 7,445 characters of GB2312, which Chinese text is nearly all written in."""
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def read_sheet(
    filename: str, data: bytes, limits: SheetLimits = SheetLimits()
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header row and every later row that has something in it, each with its line number."""
    if len(data) > limits.max_bytes:
        raise SheetRefused("too_large", f"more than {limits.max_bytes} bytes", limits.max_bytes)
    if filename.lower().endswith(".xlsx"):
        check_workbook(data, limits)
        # calamine (Rust) reads a 5,000-row sheet some 20x faster than openpyxl, which still writes them.
        try:
            sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
            rows = [
                [value if type(value) is str else _cell(value) for value in row]  # most cells are text
                for row in sheet.to_python(skip_empty_area=False)
            ]
        except (CalamineError, IndexError, ValueError) as error:
            raise SheetRefused("not_a_sheet", str(error)) from None
    else:
        rows = _read_csv(decode(data), limits)
    if not rows:
        raise SheetRefused("empty", "no header row")
    header = [cell.strip() for cell in rows[0]]
    stripped = ((line, [cell.strip() for cell in row]) for line, row in enumerate(rows[1:], start=2))
    body = [(line, row) for line, row in stripped if any(row)]
    return header, body


def _read_csv(text: str, limits: SheetLimits) -> list[list[str]]:
    rows = []
    try:
        for row in csv.reader(io.StringIO(text)):
            if len(rows) > limits.max_rows:  # the header is one more
                raise SheetRefused("too_many_rows", "more rows than the limit", limits.max_rows)
            if len(row) > limits.max_columns:
                raise SheetRefused("too_many_columns", "more columns than the limit", limits.max_columns)
            if any(len(cell) > limits.max_cell_chars for cell in row):
                raise SheetRefused("cell_too_long", "a field longer than a cell may be", limits.max_cell_chars)
            rows.append(row)
    except csv.Error as error:  # a field past csv's own limit, a NUL
        raise SheetRefused("cell_too_long", str(error), limits.max_cell_chars) from None
    return rows


def columns_of(header: list[str], columns: list[str], chinese: dict[str, str]) -> dict[str, int]:
    """Where each known column is, its header written as the English key or its Chinese name."""
    names = {c: c for c in columns} | {zh: c for c, zh in chinese.items()}
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        column = names.get(cell.strip().lower()) or names.get(cell.strip())
        if column and column not in found:
            found[column] = i
    return found


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps 3 as 3.0
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()  # a date cell: 2026-10-01, as typed
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# What a spreadsheet runs when a CSV field starts with it (OWASP's list for CSV injection).
_RUNS = ("=", "+", "-", "@", "\t", "\r")


def csv_field(value) -> str:
    """A value as a CSV field a spreadsheet shows and never runs: ``=1+2`` is written ``'=1+2``."""
    if not isinstance(value, str):
        return "" if value is None else str(value)  # a number stays a number, -3 included
    return "'" + value if value.startswith(_RUNS) else value


def xlsx_cell(sheet, value):
    """A value as an XLSX cell of a write-only sheet: text is always a text cell (openpyxl would
    store text starting with = as a formula), numbers and dates keep their type."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


def xlsx_row(sheet, values: Iterable) -> list:
    return [xlsx_cell(sheet, value) for value in values]


def write_book(sheets: list[tuple[str, list[str], Iterable[list]]]) -> bytes:
    """An XLSX of several sheets, each (title, header, rows)."""
    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(xlsx_row(sheet, header))
        for row in rows:
            sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_sheet(fmt: str, header: list[str], rows: Iterable[list]) -> bytes:
    """The rows as XLSX, or as CSV in UTF-8 with a byte-order mark (Excel then reads Chinese).
    The one writer of every spreadsheet the product offers: no formula leaves it."""
    if fmt == "xlsx":
        return write_book([("Sheet1", header, rows)])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_field(value) for value in header])
    writer.writerows([csv_field(value) for value in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")
