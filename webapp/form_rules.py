"""The text rules of ``inspections.text`` on every HTML form: each form of the app derives from
``Form`` (posted, with CSRF) or ``QueryForm`` (a GET filter), so no field can carry a control
character to the database, and a field marked ``Name()`` refuses invisible characters too."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form as WTForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import ValidationError

from inspections.text import TextRefused, check_name, check_text

TEXT_ERRORS = {
    "control_character": _l("Remove the control characters: they cannot be saved."),
    "invisible_character": _l("Remove the invisible characters: they can make a name look like another."),
    "blank": _l("Enter more than spaces."),
}


class Name:
    """A field that names someone or something: refuses invisible characters (see inspections.text)."""

    def __call__(self, form, field) -> None:
        _check(check_name, field.data)


def _check(rule, value) -> None:
    try:
        rule(value or "")
    except TextRefused as refused:
        raise ValidationError(TEXT_ERRORS[refused.code]) from None


def _plain_text(form, field) -> None:
    _check(lambda value: check_text(value, multiline=isinstance(field, TextAreaField)), field.data)


class _TextRules:
    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for field in self:
            if isinstance(field, StringField) and not isinstance(field, PasswordField) \
                    and not any(isinstance(v, Name) for v in field.validators):
                extra.setdefault(field.name, []).insert(0, _plain_text)
        return super().validate(extra_validators=extra)


class Form(_TextRules, FlaskForm):
    """A posted form."""


class QueryForm(_TextRules, WTForm):
    """A GET form of filters: no CSRF token, the values are in the URL."""
