"""The two steps of every spreadsheet import (places, people): upload for a preview, then
confirm. The previewed file travels back with the confirmation, so the apply reads exactly the
rows that were previewed, on whichever server answers."""

import base64
import binascii
import dataclasses

from flask import abort, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired

from foundation.sheets import SheetLimits, write_book
from webapp.downloads import XLSX, download
from webapp.form_rules import Form

SHEETS = ["xlsx", "csv", "txt"]


class SheetForm(Form):
    file = FileField(
        _l("Spreadsheet (XLSX or CSV)"),
        validators=[FileRequired(), FileAllowed(SHEETS, _l("An .xlsx or .csv file."))],
    )


class ApplyForm(Form):
    """The previewed file travels back with the confirmation, so the apply reads the same rows."""

    sheet = HiddenField(validators=[DataRequired()])
    filename = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])


def carry(data: bytes, filename: str, digest: str = "-") -> ApplyForm:
    """The confirmation form of a preview, holding the previewed file."""
    return ApplyForm(formdata=None, sheet=base64.b64encode(data).decode(), filename=filename, digest=digest)


def carried() -> tuple[ApplyForm, bytes]:
    """The posted confirmation and the file it carries; 400 for anything the preview did not make."""
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        return form, base64.b64decode(form.sheet.data, validate=True)
    except binascii.Error:
        abort(400)


def file_problem_text(code: str, args: tuple) -> str | None:
    """The words for what is wrong with a file as a whole, the same for every import."""
    match code:
        case "missing_columns":
            return _("Missing columns: %(columns)s.", columns=args[0])
        case "too_many_rows":
            return _("More than %(n)s rows.", n=args[0])
        case "not_a_sheet" | "empty":
            return _("The file is not a spreadsheet this page reads (XLSX or CSV), or it is damaged.")
        case "too_large":
            return _("The file is larger than %(n)s bytes.", n=args[0])
        case "unpacks_too_large":
            return _("The workbook unpacks to more than %(n)s bytes.", n=args[0])
        case "compression" | "xml_entities":
            return _("The workbook is not written the way Excel writes one: save it again from Excel.")
        case "too_many_columns":
            return _("More than %(n)s columns.", n=args[0])
        case "cell_too_long":
            return _("A cell is longer than %(n)s characters.", n=args[0])
        case "encoding":
            return _("The file is not text in UTF-8 or GB18030.")
    return None


def allowed_values(words: dict[str, str]) -> str:
    """What a column takes, each as the file may write it: 大堂 (lobby), 走廊 (corridor), …"""
    return "、".join(f"{chinese} ({key})" for key, chinese in words.items())


def import_template(name: str, header: list[str], allowed: dict[str, list[str]]):
    """An import's empty workbook to fill in: its columns, and a second sheet listing the values
    each column with a fixed list takes (kinds, area types, roles, departments, sites)."""
    width = max((len(values) for values in allowed.values()), default=0)
    columns = list(allowed)
    rows = [[allowed[c][n] if n < len(allowed[c]) else "" for c in columns] for n in range(width)]
    body = write_book([(_("Fill in"), header, []), (_("Allowed values"), columns, rows)])
    return download(body, XLSX, f"{name}.xlsx")


def sheet_limits() -> SheetLimits:
    """The limits of an uploaded spreadsheet, from the settings (SHEET_MAX_*)."""
    config = current_app.config
    return SheetLimits(
        max_bytes=config["SHEET_MAX_BYTES"],
        max_rows=config["SHEET_MAX_ROWS"],
        max_columns=config["SHEET_MAX_COLUMNS"],
        max_unpacked_bytes=config["SHEET_MAX_UNPACKED_BYTES"],
    )


def xlsform_limits() -> SheetLimits:
    return dataclasses.replace(sheet_limits(), max_rows=current_app.config["XLSFORM_MAX_ROWS"])
