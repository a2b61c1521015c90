from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.form_rules import Form, Name, NewPassword


class PersonForm(Form):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[a-zA-Z0-9_.\-]+$", message=_l("Letters, digits, dot, dash and underscore only.")),
        ],
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), Name()])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    department_id = SelectField(_l("Department"), coerce=int)
    sites = SelectMultipleField(
        _l("Sites"), coerce=int, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    writes_checklists = BooleanField(_l("May write and publish checklists"))
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), NewPassword()],
    )

    def validate_sites(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one site."))


class ResetPasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), NewPassword()],
    )
