from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from tickets.states import TicketState


class AssignForm(FlaskForm):
    department_id = SelectField(_l("Department"), coerce=int, validators=[InputRequired()])
    assignee_id = SelectField(_l("Person"), coerce=int, validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    base_version = IntegerField(validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def validate_to(self, field) -> None:
        if field.data not in {state.value for state in TicketState}:
            raise ValidationError(_l("Not a ticket state."))


class CommentForm(FlaskForm):
    text = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=4000)])
