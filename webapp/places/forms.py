from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from webapp.form_rules import Form, Name

SHEETS = ["xlsx", "csv", "txt"]


class SiteForm(Form):
    code = StringField(
        _l("Code (ticket numbers start with it)"),
        validators=[
            DataRequired(),
            Length(max=8),
            Regexp(r"^[A-Za-z0-9]+$", message=_l("Letters and digits only.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), Name()])
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai", validators=[DataRequired(), Length(max=64)])
    address = StringField(_l("Address"), validators=[Length(max=255), Name()])


class PlaceForm(Form):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), Name()])
    parent_id = SelectField(_l("In"), coerce=int)
    area_type = SelectField(_l("Cleaning standard (areas only)"))


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
