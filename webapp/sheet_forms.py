"""The two steps of every spreadsheet import (places, people): upload for a preview, then
confirm. The previewed file travels back with the confirmation, so the apply reads exactly the
rows that were previewed, on whichever server answers."""

import base64
import binascii

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired

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
        case "not_a_sheet" | "too_large" | "empty":
            return _("The file is not a spreadsheet this page reads (XLSX, or CSV up to 5 MB).")
        case "encoding":
            return _("The file is not text in UTF-8 or GB18030.")
    return None
