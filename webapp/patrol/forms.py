from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Regexp, ValidationError

from webapp.form_rules import Form, Name

TIME = Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message=_l("A time like 22:00."))


class RouteForm(Form):
    name = StringField(_l("Route name"), validators=[DataRequired(), Length(max=120), Name()])
    start = StringField(_l("First round at"), validators=[DataRequired(), TIME], default="22:00")
    end = StringField(_l("Last round by"), validators=[DataRequired(), TIME], default="06:00")
    every_minutes = IntegerField(
        _l("Every (minutes)"), default=120, validators=[DataRequired(), NumberRange(min=15, max=24 * 60)]
    )
    window_minutes = IntegerField(
        _l("Window ± (minutes)"), default=15, validators=[DataRequired(), NumberRange(min=1, max=120)]
    )

    def validate_window_minutes(self, field) -> None:
        if self.every_minutes.data and field.data and field.data * 2 >= self.every_minutes.data:
            raise ValidationError(_l("The window must be shorter than half the time between rounds."))

    def schedule(self) -> dict:
        return {
            "start": self.start.data,
            "end": self.end.data,
            "every_minutes": self.every_minutes.data,
            "window_minutes": self.window_minutes.data,
        }


class ExistingCheckpointForm(Form):
    location_id = SelectField(_l("A checkpoint of the site"), coerce=int)


class CheckpointForm(Form):
    name = StringField(_l("Checkpoint name"), validators=[DataRequired(), Length(max=120), Name()])
    floor_id = SelectField(_l("Floor"), coerce=int)
