"""Reading and writing the spreadsheets people keep: XLSX, or CSV in UTF-8 (with or without
Excel's byte-order mark) or GB18030, which Chinese Excel writes. Every import reads through here,
so every import names a bad row by the line number the spreadsheet shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime, time

from openpyxl import Workbook
from python_calamine import CalamineError, CalamineWorkbook

MAX_BYTES = 5_000_000


class SheetRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # not_a_sheet, encoding, too_large, empty


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_sheet(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header row and every later row that has something in it, each with its line number."""
    if len(data) > MAX_BYTES:
        raise SheetRefused("too_large", f"more than {MAX_BYTES} bytes")
    if filename.lower().endswith(".xlsx"):
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
        try:
            text = decode(data)
        except UnicodeDecodeError:
            raise SheetRefused("encoding", "neither UTF-8 nor GB18030") from None
        rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise SheetRefused("empty", "no header row")
    header = [cell.strip() for cell in rows[0]]
    stripped = ((line, [cell.strip() for cell in row]) for line, row in enumerate(rows[1:], start=2))
    body = [(line, row) for line, row in stripped if any(row)]
    return header, body


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


def write_sheet(fmt: str, header: list[str], rows: Iterable[list[str]]) -> bytes:
    """The rows as XLSX, or as CSV in UTF-8 with a byte-order mark (Excel then reads Chinese)."""
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")
