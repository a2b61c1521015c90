from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from webapp.choices import choices
from webapp.form_rules import Form


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    own_phone = BooleanField(_l("This is my own phone: keep me signed in for 30 days"))


class LanguageForm(Form):
    locale = RadioField(
        _l("Language"), choices=choices([("zh", "中文"), ("en", "English")]), validators=[DataRequired()]
    )
