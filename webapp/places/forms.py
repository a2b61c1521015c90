from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from webapp.form_rules import Form, Name


class SiteForm(Form):
    code = StringField(
        _l("Code (ticket numbers start with it)"),
        validators=[
            DataRequired(),
            Length(max=8),
            Regexp(r"^[A-Za-z0-9]+$", message=_l("Letters and digits only.")),
        ],
    )
    name = StringField(_l("Site name"), validators=[DataRequired(), Length(max=120), Name()])
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai", validators=[DataRequired(), Length(max=64)])
    address = StringField(_l("Address"), validators=[Length(max=255), Name()])


class PlaceForm(Form):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    name = StringField(_l("Place name"), validators=[DataRequired(), Length(max=120), Name()])
    parent_id = SelectField(_l("In"), coerce=int)
    area_type = SelectField(_l("Cleaning standard (areas only)"))


class RoutingForm(Form):
    """A site's changes to who takes a failed check's ticket (inspections/routing.py)."""

    on_duty = BooleanField(_l("Whoever is on duty at the place (the duty roster)"))
    scheduled = BooleanField(_l("The person the check was scheduled for"))
    department_head = BooleanField(_l("The head of the ticket's department"))
    last_resort_id = SelectField(_l("Then, and when nobody above fits"))
