from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from inspections.fitout import parse_noisy_hours
from webapp.form_rules import Form, Name

YUAN = [InputRequired(), NumberRange(min=0.01, max=10_000_000)]


class ProjectForm(Form):
    unit_id = SelectField(_l("Unit"), coerce=int)
    contractor = StringField(_l("Contractor"), validators=[DataRequired(), Length(max=200), Name()])
    permit_number = StringField(_l("Permit number"), validators=[DataRequired(), Length(max=64)])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])
    drawings_ref = StringField(_l("Approved drawings"), validators=[Length(max=200)])
    noisy_hours = StringField(_l("Noisy work allowed (e.g. 12:00-14:00,18:00-08:00)"), validators=[Length(max=64)])
    worker_passes = IntegerField(
        _l("Worker passes issued"), default=0, validators=[Optional(), NumberRange(min=0, max=1000)]
    )
    deposit = DecimalField(_l("Deposit (yuan)"), places=2, validators=YUAN)

    def validate_ends_on(self, field) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end is before the start."))

    def validate_noisy_hours(self, field) -> None:
        try:
            parse_noisy_hours(field.data or "")
        except ValueError as bad:
            raise ValidationError(_l("“%(part)s” is not two times of day like 12:00-14:00.", part=str(bad))) from None


class PenaltyForm(Form):
    amount = DecimalField(_l("Penalty (yuan)"), places=2, validators=YUAN)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    violation_id = SelectField(_l("For violation"), default="")
    override = BooleanField(_l("Charge beyond the deposit left (manager's override)"))


class PermitForm(Form):
    number = StringField(_l("Hot-work permit number"), validators=[DataRequired(), Length(max=64)])
    starts_on = DateField(_l("Valid from"), validators=[DataRequired()])
    ends_on = DateField(_l("Valid until"), validators=[DataRequired()])

    def validate_ends_on(self, field) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end is before the start."))
