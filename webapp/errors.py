"""Error pages that a person can act on."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from webapp.pages import render

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this page."),
    404: _l("Nothing here, or not for you."),
    405: _l("That action is not possible here."),
    413: _l("That upload is too large."),
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render("error.html", status=400, code=400,
                      message=_l("Your form expired or was sent from elsewhere. Reload the page and try again."))

    for code, message in MESSAGES.items():
        app.register_error_handler(code, lambda error, code=code, message=message: render(
            "error.html", status=code, code=code, message=message))
