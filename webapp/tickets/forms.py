from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import HiddenInput

from foundation.photos import is_sha256
from tickets.states import TicketState
from webapp.choices import choices
from webapp.form_rules import Form, Name


def base_version() -> IntegerField:
    """The ticket's version when the page was shown: a change made from an older page is shown
    what happened since instead of overwriting it."""
    return IntegerField(widget=HiddenInput(), validators=[Optional()])


class AssignForm(Form):
    department_id = SelectField(_l("Department"), coerce=int, validators=[InputRequired()])
    assignee_id = SelectField(_l("Person"), coerce=int, validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    base_version = base_version()


class TransitionForm(Form):
    to = HiddenField(validators=[DataRequired()])
    base_version = IntegerField(validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def validate_to(self, field) -> None:
        if field.data not in {state.value for state in TicketState}:
            raise ValidationError(_l("Not a ticket state."))


class CommentForm(Form):
    text = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=4000)])


YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


class CallbackForm(Form):
    """回访: whether the customer was reached, whether they are satisfied, and what they said."""

    reached = RadioField(_l("Reached the customer?"), choices=choices(YES_NO), validators=[InputRequired()])
    # Checked by validate_satisfied: it is asked only when the customer was reached.
    satisfied = RadioField(_l("Satisfied with the result?"), choices=choices(YES_NO), validate_choice=False)
    remark = TextAreaField(_l("What the customer said"), validators=[Length(max=2000)])
    base_version = base_version()

    def validate_satisfied(self, field) -> None:
        if self.reached.data == "yes" and field.data not in ("yes", "no"):
            raise ValidationError(_l("Say whether the customer is satisfied."))
        if self.reached.data != "yes":
            field.data = None


class IntakeForm(Form):
    """A complaint or repair taken at the desk (§3.3.4, §3.4.4)."""

    kind = RadioField(
        _l("Kind"),
        choices=choices([("complaint", _l("Complaint")), ("repair", _l("Repair"))]),
        validators=[InputRequired()],
    )
    location_id = SelectField(_l("Where"), coerce=int, validators=[InputRequired()])
    tenant_id = SelectField(_l("Customer"), coerce=int, default=0)
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=80), Name()])
    contact_phone = StringField(
        _l("Phone"),
        validators=[DataRequired(), Length(max=32), Regexp(r"^[0-9+\-() ]{5,32}$", message=_l("A phone number."))],
    )
    title = StringField(_l("What is wrong"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Details"), validators=[Length(max=4000)])
    available = StringField(_l("When the customer is available"), validators=[Length(max=120)])
    priority = SelectField(_l("Priority"), default="normal")
    service_item_id = SelectField(_l("Service (repairs)"), coerce=int, default=0)
    photos = MultipleFileField(_l("Photos"))
    photo_shas = HiddenField()  # photos already received when the form comes back to be fixed

    def validate_photo_shas(self, field) -> None:
        if not all(is_sha256(sha) for sha in (field.data or "").split(",") if sha):
            raise ValidationError(_l("The photos received could not be read: attach them again."))

    decision = HiddenField()  # "join" or "new", once told of an open ticket for the same place
