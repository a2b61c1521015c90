from flask_babel import lazy_gettext as _l
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from inspections.cleaning_scores import ScoringRule
from webapp.form_rules import Form

POINTS = NumberRange(min=0, max=100)
PER_DAY = NumberRange(min=0, max=24)


class RuleForm(Form):
    """The numbers of a site's ScoringRule; its shifts are kept as they are."""

    base_points = FloatField(
        _l("Points at the start of the month"), validators=[InputRequired(), NumberRange(min=0, max=1000)]
    )
    patrol_fail_points = FloatField(
        _l("Points off per failed item at a lead's patrol (× weight)"), validators=[InputRequired(), POINTS]
    )
    spot_fail_points = FloatField(
        _l("Points off per failed item at a spot check (× weight)"), validators=[InputRequired(), POINTS]
    )
    self_fail_points = FloatField(
        _l("Points off per failed item at a self-check (× weight)"), validators=[InputRequired(), POINTS]
    )
    late_rework_points = FloatField(_l("Points off for a rework fixed late"), validators=[InputRequired(), POINTS])
    clean_spot_points = FloatField(
        _l("Points added for a spot check with nothing failed"), validators=[InputRequired(), POINTS]
    )
    self_target = IntegerField(_l("Self-checks per area per day"), validators=[InputRequired(), PER_DAY])
    patrol_target = IntegerField(_l("Lead's patrols per area per day"), validators=[InputRequired(), PER_DAY])
    spot_target = IntegerField(_l("Spot checks per area per day"), validators=[InputRequired(), PER_DAY])

    NUMBERS = (
        "base_points",
        "patrol_fail_points",
        "spot_fail_points",
        "self_fail_points",
        "late_rework_points",
        "clean_spot_points",
        "self_target",
        "patrol_target",
        "spot_target",
    )

    def rule(self, current: ScoringRule) -> ScoringRule:
        return current.model_copy(update={name: getattr(self, name).data for name in self.NUMBERS})


class DutyForm(Form):
    location_id = SelectField(_l("Area"), coerce=int)
    cleaner_id = SelectField(_l("Cleaner"), coerce=int)
    shift = SelectField(_l("Shift"))
    starts_on = DateField(_l("From"), validators=[DataRequired()])


class TaskForm(Form):
    location_id = SelectField(_l("Area"), coerce=int)
    title = StringField(_l("Task"), validators=[DataRequired(), Length(max=200)])
    per_month = SelectField(_l("Times a month"), coerce=int, default=0)
    every_days = IntegerField(_l("Or every so many days"), validators=[Optional(), NumberRange(min=1, max=366)])
    starts_on = DateField(_l("From"), validators=[DataRequired()])

    def validate_every_days(self, field) -> None:
        if bool(self.per_month.data) == bool(field.data):
            raise ValidationError(_l("Give either times a month or every so many days."))
