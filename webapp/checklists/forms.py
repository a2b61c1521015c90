from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.choices import choices
from webapp.form_rules import Form, Name

KEY_RULE = Regexp(r"^[a-z0-9_\-]+$", message=_l("Lowercase letters, digits, _ and - only."))


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChecklistForm(Form):
    """A checklist's settings: what it is, who fills it in and where."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200), Name()])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    site_id = SelectField(_l("Where it is used"), coerce=int)
    roles = MultiCheckbox(
        _l("Who fills it in"), validators=[DataRequired()], render_kw={"class": "checks inline-checks"}
    )
    area_type = SelectField(_l("Cleaning standard for (cleaning checklists)"))


class ItemForm(Form):
    """One item. Which fields count depends on its type (builder.js hides the others)."""

    id = StringField(
        _l("Key (empty: made from the label; never changes once published: answers and tickets name it)"),
        validators=[DataRequired(), Length(max=40), KEY_RULE],
    )
    type = SelectField(_l("Type"), validators=[DataRequired()])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=200), Name()])
    label_en = StringField(_l("Label in English"), validators=[Length(max=200), Name()])
    standard = TextAreaField(
        _l("Standard (the manual's wording, shown under the label)"), validators=[Length(max=1000)]
    )
    standard_en = TextAreaField(_l("Standard in English"), validators=[Length(max=1000)])
    required = BooleanField(_l("Required"), default=True)
    photo_on_fail = BooleanField(_l("Photo needed when it fails"))
    expected = SelectField(
        _l("The answer that passes"), default="yes", choices=choices([("yes", _l("Yes")), ("no", _l("No"))])
    )
    allows_na = BooleanField(_l("May be answered N/A (not counted in the score)"))
    choices = TextAreaField(_l("Choices, one per line"), validators=[Length(max=2000)])
    choices_en = TextAreaField(_l("The same choices in English, one per line (or none)"), validators=[Length(max=2000)])
    unit = StringField(_l("Unit of measure"), validators=[Length(max=20), Name()])
    min = DecimalField(_l("Lowest allowed"), validators=[Optional()])
    max = DecimalField(_l("Highest allowed"), validators=[Optional()])
    weight = DecimalField(_l("Weight in the score"), default=1, validators=[Optional(), NumberRange(min=0, max=100)])
    # Only answers of the items above are offered, so a show-if never points forward.
    show_if = SelectField(_l("Ask only when"), default="")
    on_fail = SelectField(_l("A failure opens"), default="")
    on_fail_department = SelectField(_l("For department"), default="cleaning")
    on_fail_due_hours = IntegerField(_l("Due within (hours)"), validators=[Optional(), NumberRange(min=1, max=24 * 90)])
    on_fail_priority = SelectField(_l("Priority"), default="normal")
    on_fail_role = SelectField(_l("Taken by"), default="")


class SectionForm(Form):
    title = StringField(_l("Section title"), validators=[DataRequired(), Length(max=200), Name()])


class PublishForm(Form):
    note = TextAreaField(_l("What changed, and why (required)"), validators=[DataRequired(), Length(max=500)])
    effective_on = DateField(_l("Takes effect on (empty: now)"), validators=[Optional()])
    knows_drafts = BooleanField(_l("I know phones have checklists under way that answer changed items"))


class XlsFormUpload(Form):
    """A workbook, into a new checklist (what it is and who fills it in) or an existing one's draft."""

    file = FileField(_l("XLSForm workbook (.xlsx)"), validators=[FileAllowed(["xlsx"], _l("An .xlsx workbook."))])
    # A workbook already read and found good, kept while the person fills in what else the page
    # needs: a file input cannot be refilled by the page, and choosing the file again is a chore.
    kept = HiddenField()
    kept_name = HiddenField()
    into = SelectField(_l("Import as"), coerce=int)
    kind = SelectField(_l("Kind"))
    site_id = SelectField(_l("Where it is used"), coerce=int)
    roles = MultiCheckbox(_l("Who fills it in"), render_kw={"class": "checks inline-checks"})
    area_type = SelectField(_l("Cleaning standard for (cleaning checklists)"))


class CopyForm(Form):
    site_id = SelectField(_l("Where it is used"), coerce=int)
