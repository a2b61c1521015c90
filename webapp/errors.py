"""Error pages that a person can act on, and JSON errors for the API."""

from __future__ import annotations

from flask import Flask, g, request, session
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from webapp.pages import render

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this page."),
    404: _l("Nothing here, or not for you."),
    405: _l("That action is not possible here."),
    409: _l("That step is not possible now: what you acted on has changed. Go back, reload the page and look again."),
    413: _l("That upload is too large."),
    415: _l("That kind of file or request is not accepted here."),
    500: _l("Something went wrong on the server. Try again in a moment; if it happens again, tell your manager."),
}
OTHER = _l("That did not work. Go back and try again.")
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    500: "server_error",
}
RETRY_AFTER_S = 5


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        response = render(
            "error.html",
            status=400,
            code=400,
            message=_l("Your form expired or was sent from elsewhere. Reload the page and try again."),
        )
        # The page's own forms made a form token; a request without a session must not leave with
        # a new one. A phone's stale logout, refused here, would otherwise replace the session the
        # login page had just begun, and the login that follows would be refused in turn.
        session.modified = False
        return response

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if request.path.startswith("/api/"):
            from webapp.api.views import error_response

            response = error_response(
                error.code, API_CODES.get(error.code, "http_error"), error.description or error.name
            )
        else:
            response = render("error.html", status=error.code, code=error.code, message=MESSAGES.get(error.code, OTHER))
        # Keep what the exception says beyond its body, e.g. the Allow header a 405 must carry.
        response.headers.extend((k, v) for k, v in error.get_headers() if k.lower() != "content-type")
        return response

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError):
        # The database is restarting, unreachable or busy: nothing was written (the transaction
        # rolled back), so the caller may simply try again; phones keep the record meanwhile.
        app.logger.warning("database unavailable on %s: %s", request.path, error.orig)
        if request.path.startswith("/api/"):
            from webapp.api.views import error_response

            response = error_response(503, "database_unavailable", "the database is not answering; try again")
        else:
            # The page must not need the database either (who is signed in, and their language,
            # are read from it): it is shown as to someone not signed in, in the browser's language.
            from webapp import LANGUAGES
            from webapp.extensions import login_manager

            g._login_user = login_manager.anonymous_user()
            with force_locale(request.accept_languages.best_match(LANGUAGES) or "zh"):
                response = render(
                    "error.html",
                    status=503,
                    code=503,
                    message=_l(
                        "The server cannot reach its database just now. Nothing was saved; try again in a minute."
                    ),
                )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        if request.path.startswith("/api/"):
            from webapp.api.views import error_response

            return error_response(500, "server_error", "something went wrong on the server")
        return render("error.html", status=500, code=500, message=MESSAGES[500])
