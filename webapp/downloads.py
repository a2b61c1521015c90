"""Files handed to the browser: PDFs, and any list as CSV or XLSX. Cells go through
``foundation.sheets``, so one that a spreadsheet would run as a formula (a name typed as
"=HYPERLINK(...)") is written as plain text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.styles import Font

from foundation.sheets import csv_field, xlsx_cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(body, mimetype: str, filename: str, disposition: str = "attachment") -> Response:
    response = Response(body, mimetype=mimetype)
    # filename* carries a Chinese name; the plain one is for old clients.
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


def csv_download(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """Streamed row by row, so a list of 100,000 tickets never sits in memory; the BOM makes
    Excel read the Chinese as UTF-8."""

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([csv_field(v) for v in header])
        for n, row in enumerate(rows, 1):
            writer.writerow([csv_field(v) for v in row])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return download(stream_with_context(lines()), "text/csv", filename)


def xlsx_download(filename: str, title: str, header: list[str], rows: Iterable[list]) -> Response:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])

    def cell(value, bold: bool = False):
        made = xlsx_cell(sheet, value)
        if bold:
            made.font = Font(bold=True)
        return made

    sheet.append([cell(h, bold=True) for h in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return download(out.getvalue(), XLSX, filename)
