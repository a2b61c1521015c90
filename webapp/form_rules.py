"""The rules every HTML form keeps: each form of the app derives from ``Form`` (posted, with
CSRF) or ``QueryForm`` (a GET filter), so no text field can carry a control character to the
database (``foundation.text``), a field marked ``Name()`` refuses invisible characters too, and
no date field takes a date outside ten years either side of today (a typo like 0001-01-01)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, StringField, TextAreaField
from wtforms import Form as WTForm
from wtforms.validators import ValidationError

from foundation.text import MAX_PASSWORD, MIN_PASSWORD, TextRefused, check_name, check_password, check_text

TEXT_ERRORS = {
    "control_character": _l("Remove the control characters: they cannot be saved."),
    "invisible_character": _l("Remove the invisible characters: they can make a name look like another."),
    "short_password": _l("At least %(n)s characters.", n=MIN_PASSWORD),
    "long_password": _l("At most %(n)s characters.", n=MAX_PASSWORD),
}


class Name:
    """A field that names someone or something: refuses invisible characters (see foundation.text)."""

    def __call__(self, form, field) -> None:
        _check(check_name, field.data)


class NewPassword:
    """A password being set: the rule of ``foundation.text.check_password``."""

    def __call__(self, form, field) -> None:
        _check(check_password, field.data)


def _check(rule, value) -> None:
    try:
        rule(value or "")
    except TextRefused as refused:
        raise ValidationError(TEXT_ERRORS[refused.code]) from None


def _plain_text(form, field) -> None:
    _check(lambda value: check_text(value, multiline=isinstance(field, TextAreaField)), field.data)


DATE_YEARS = 10


def sane_date(day: date) -> bool:
    """Within ten years either side of today: for form fields and dates in a page's URL alike."""
    year = date.today().year
    return date(year - DATE_YEARS, 1, 1) <= day <= date(year + DATE_YEARS, 12, 31)


def date_in_url(name: str, default: Callable[[], date], *, month: bool = False) -> date:
    """A page's date from its URL (``?day=2026-11-26``, or ``?month=2026-11`` for its first day):
    the default when absent, 400 when it is not a date within the sane range."""
    raw = request.args.get(name, "")
    if not raw:
        return default()
    try:
        day = date.fromisoformat(f"{raw}-01" if month else raw)
    except ValueError:
        abort(400)
    if not sane_date(day):
        abort(400)
    return day


def _sane_date(form, field) -> None:
    if field.data is not None and not sane_date(field.data):
        raise ValidationError(_l("Enter a date within %(n)s years of today.", n=DATE_YEARS))


class _Rules:
    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for field in self:
            if (
                isinstance(field, StringField)
                and not isinstance(field, PasswordField)
                and not any(isinstance(v, Name) for v in field.validators)
            ):
                extra.setdefault(field.name, []).insert(0, _plain_text)
            if isinstance(field, DateField):
                extra.setdefault(field.name, []).insert(0, _sane_date)
        return super().validate(extra_validators=extra)


class Form(_Rules, FlaskForm):
    """A posted form."""


class QueryForm(_Rules, WTForm):
    """A GET form of filters: no CSRF token, the values are in the URL."""
