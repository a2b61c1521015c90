from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from webapp.choices import choices
from webapp.form_rules import Form, Name, NewPassword


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    own_phone = BooleanField(_l("This is my own phone: keep me signed in for 30 days"))


class LanguageForm(Form):
    locale = RadioField(
        _l("Language"), choices=choices([("zh", "中文"), ("en", "English")]), validators=[DataRequired()]
    )


class FirstRunForm(Form):
    username = StringField(
        _l("Administrator's username"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[a-zA-Z0-9_.\-]+$", message=_l("Letters, digits, dot, dash and underscore only.")),
        ],
    )
    display_name = StringField(_l("Name"), default="系统管理员", validators=[DataRequired(), Length(max=120), Name()])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), NewPassword()],
    )
