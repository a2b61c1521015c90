"""The console's filters: GET forms, so every view of a list is a URL to bookmark or send."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from webapp.form_rules import QueryForm


class Filters(QueryForm):
    """Site and dates, shared by every list; a bad value comes back named, as on any form."""

    site = SelectField(_l("Site"), default="")
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)], default=1)

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end comes before the start."))


class TicketFilters(Filters):
    kind = SelectField(_l("Kind"), default="")
    state = SelectField(_l("State"), default="open")
    department = SelectField(_l("Department"), default="")


class InspectionFilters(Filters):
    kind = SelectField(_l("Checklist"), default="")
    result = SelectField(_l("Result"), default="")
