"""The web application: HTML pages for the field and the console, and (later) the JSON API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from webapp.config import ROOT, load_config
from webapp.extensions import babel, csrf, db, login_manager, migrate

LANGUAGES = ("zh", "en")


class PlainText(BaseConverter):
    """A URL's text part without control characters."""

    regex = r"[^/\x00-\x1f\x7f]+"


def _engine_options(config: Mapping) -> dict:
    options: dict = {"pool_pre_ping": True}
    if config["DATABASE_URL"].startswith("postgresql"):
        timeouts = {
            "statement_timeout": config["DB_STATEMENT_TIMEOUT_MS"],
            "idle_in_transaction_session_timeout": config["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"],
        }
        options["connect_args"] = {"options": " ".join(f"-c {name}={ms}" for name, ms in timeouts.items())}
    return options


def create_app(overrides: Mapping | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build the app. No I/O happens here: no connection, no migration, no file written."""
    config = load_config(environ, overrides)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(config)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=config["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config),
        MAX_CONTENT_LENGTH=config["MAX_FORM_BYTES"],
        # A previewed spreadsheet (up to 5 MB) comes back base64-encoded in the confirmation form.
        MAX_FORM_MEMORY_SIZE=8 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        BABEL_DEFAULT_LOCALE="zh",
        WTF_CSRF_TIME_LIMIT=None,  # a shift is long; the token lives as long as the session
        # The cookie outlives an app restart; the server's session record decides how long it
        # is good for (foundation/sessions.py: a shift, or 30 days on a person's own phone).
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
    )
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # The job engine tells of every run's start and end (one every 10 s); a job that fails
        # is logged by webapp.jobs.run_job, and the engine's own failures are warnings or worse.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    if config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config["PROXY_HOPS"], x_proto=config["PROXY_HOPS"])

    # Before any route is added: every text part of a URL (a ticket number, a photo's hash)
    # refuses control characters, so /tickets/A%00 is a 404 on both databases (PostgreSQL
    # refuses a NUL in a query with an error).
    app.url_map.converters["default"] = app.url_map.converters["string"] = PlainText

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    from sync import changes as sync_changes
    from webapp import assets, filters, js_messages, labels, pages, photo_store, security
    from webapp.api.views import bp as api_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.checklists.views import bp as checklists_bp
    from webapp.cleaning.views import bp as cleaning_bp
    from webapp.cli import bp as cli_bp
    from webapp.console.views import bp as console_bp
    from webapp.errors import register_error_handlers
    from webapp.field.views import bp as field_bp
    from webapp.fitout.views import bp as fitout_bp
    from webapp.patrol.views import bp as patrol_bp
    from webapp.people.views import bp as people_bp
    from webapp.photos.views import bp as photos_bp
    from webapp.places.views import bp as places_bp
    from webapp.pwa.views import SCANNER_FILE, asset
    from webapp.pwa.views import bp as pwa_bp
    from webapp.schedules.views import bp as schedules_bp
    from webapp.tickets.views import bp as tickets_bp
    from webapp.webhooks.views import bp as webhooks_bp

    photo_store.init_app(app)
    sync_changes.install(db.session)
    filters.init_app(app)
    labels.init_app(app)
    js_messages.init_app(app)
    for blueprint in (
        auth_bp,
        field_bp,
        tickets_bp,
        patrol_bp,
        cleaning_bp,
        fitout_bp,
        people_bp,
        places_bp,
        schedules_bp,
        checklists_bp,
        photos_bp,
        pwa_bp,
        api_bp,
        webhooks_bp,
        console_bp,
        cli_bp,
    ):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    app.add_template_global(asset)
    app.add_template_global(SCANNER_FILE, "scanner_file")
    pages.install_cache_headers(app)
    security.install(app)
    assets.install(app)

    @app.get("/healthz")
    def healthz():
        """For a load balancer (and the benchmarks' trivial route): the app answers and so does
        its database; on PostgreSQL also how long phones' pulls have been held back by the oldest
        writing transaction (seconds; a minute means one is stuck). Public, and says nothing else."""
        from sync.changes import horizon_age

        db.session.execute(sa.text("SELECT 1"))
        age = horizon_age(db.session)
        return {"status": "ok"} | ({"pull_horizon_age_s": age} if age is not None else {})

    @app.context_processor
    def _template_globals() -> dict:
        return {"current_locale": str(get_locale()), "languages": LANGUAGES, "web_session_tag": pages.web_session_tag}

    return app


def _select_locale() -> str:
    if current_user and current_user.is_authenticated:
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or "zh"


@login_manager.user_loader
def _load_user(user_id: str):
    """The person of this request's session, while the server still holds the session live."""
    from flask import g, session

    from foundation.base import utcnow
    from foundation.sessions import live_session

    web = live_session(db.session, session.get("sid"), int(user_id), utcnow())
    if web is None:
        session.clear()  # ended on the server: this copy of the cookie is worth nothing now
        return None
    g.web_session = web
    return web.user
