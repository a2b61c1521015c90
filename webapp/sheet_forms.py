"""The two steps of every spreadsheet import (places, people): upload for a preview, then
confirm. The previewed file travels back with the confirmation, so the apply reads exactly the
rows that were previewed, on whichever server answers."""

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
