import re

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.form_rules import Form, Name

TIMES = re.compile(r"^\s*(([01]\d|2[0-3]):[0-5]\d)(\s*[ ,，、]\s*([01]\d|2[0-3]):[0-5]\d)*\s*$")


class ScheduleForm(Form):
    template_id = SelectField(_l("Checklist"), coerce=int)
    place = SelectField(_l("Where"), validators=[DataRequired()])
    who = SelectField(_l("Done by"), validators=[DataRequired()])
    assignee_id = SelectField(_l("Person"), coerce=int, default=0)
    role = SelectField(_l("Role (each of them)"), default="")
    rule = SelectField(_l("How often"), validators=[DataRequired()])
    times = StringField(_l("At (e.g. 08:00 14:00; empty: any time that day)"), validators=[Length(max=200)])
    weekdays = SelectMultipleField(
        _l("On (weekly)"), coerce=int, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    per_month = IntegerField(_l("Times a month"), validators=[Optional(), NumberRange(min=1, max=31)])
    every_days = IntegerField(_l("Every so many days"), validators=[Optional(), NumberRange(min=1, max=366)])
    window_minutes = IntegerField(
        _l("On time within (minutes)"), default=60, validators=[DataRequired(), NumberRange(min=5, max=1440)]
    )
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("Until (optional)"), validators=[Optional()])
    title = StringField(_l("Wording on Today (optional)"), validators=[Length(max=200), Name()])

    def validate_times(self, field) -> None:
        if field.data and not TIMES.match(field.data):
            raise ValidationError(_l("Times like 08:00, separated by spaces."))

    def validate_assignee_id(self, field) -> None:
        if self.who.data == "person" and not field.data:
            raise ValidationError(_l("Choose the person."))

    def validate_role(self, field) -> None:
        if self.who.data == "role" and not field.data:
            raise ValidationError(_l("Choose the role."))

    def validate_weekdays(self, field) -> None:
        if self.rule.data == "weekly" and not field.data:
            raise ValidationError(_l("Choose at least one day."))

    def validate_per_month(self, field) -> None:
        if self.rule.data == "monthly" and not field.data:
            raise ValidationError(_l("How many times a month?"))

    def validate_every_days(self, field) -> None:
        if self.rule.data == "every_n_days" and not field.data:
            raise ValidationError(_l("Every how many days?"))

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end comes before the start."))

    def time_list(self) -> list[str]:
        return sorted(set(re.findall(r"\d\d:\d\d", self.times.data or "")))
