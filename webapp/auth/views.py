"""Logging in and out, and choosing a language."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import IntegrityError

from foundation.base import utcnow
from foundation.org import User
from foundation.people import PersonRefused, authenticate, login_wait
from foundation.sessions import end_session, start_session
from inspections.library import has_people, start_company
from sync.tokens import revoke_device
from webapp.auth.forms import FirstRunForm, LanguageForm, LoginForm
from webapp.extensions import db
from webapp.pages import render, see_other

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login page."""
    if current_user.is_authenticated:
        return see_other(url_for("field.today"))
    if not has_people(db.session):
        return see_other(url_for("auth.first_run"))
    form = LoginForm()
    if form.validate_on_submit():
        username, now = form.username.data.strip(), utcnow()
        wait = login_wait(db.session, username, request.remote_addr, now)
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            form.password.errors.append(_("Too many failed attempts. Wait %(n)s minutes and try again.", n=minutes))
            response = render("auth/login.html", form=form, status=429)
            response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
            return response
        user = authenticate(db.session, username, form.password.data, request.remote_addr, now)
        db.session.commit()
        if user is not None:
            _sign_in(user, own_phone=form.own_phone.data, now=now)
            return see_other(_safe_next(request.args.get("next")) or url_for("field.today"))
        form.password.errors.append(_("Wrong username or password."))
    return render("auth/login.html", form=form, status=200 if request.method == "GET" else 422)


def _sign_in(user: User, *, own_phone: bool, now) -> None:
    web = start_session(db.session, user, own_phone=own_phone, now=now)
    db.session.commit()
    session.clear()  # a fresh session at login
    session.permanent = True  # survives an app restart; the server decides how long
    session["sid"] = str(web.id)
    # The form token is made now, in the cookie login sets: pages opened at once after it (Today,
    # the worker's offline copies) each carry whichever cookie answered last, and a token made by
    # one page would be forgotten by the next answer, leaving Today's forms refused.
    g.pop("csrf_token", None)  # one signed for the login form would be for the session just cleared
    generate_csrf()
    login_user(user)


@bp.route("/setup", methods=["GET", "POST"])
def first_run():
    """An empty company's first page: its first administrator. Gone once anyone exists."""
    if has_people(db.session):
        abort(404)
    form = FirstRunForm()
    if form.validate_on_submit():
        try:
            admin = start_company(
                db.session,
                username=form.username.data.strip(),
                display_name=form.display_name.data.strip(),
                password=form.password.data,
                locale=get_locale().language if get_locale() else "zh",
            )
            db.session.commit()
        except (IntegrityError, PersonRefused):
            db.session.rollback()  # another first run won the race
            abort(404)
        _sign_in(admin, own_phone=False, now=utcnow())
        flash(_("Welcome. Add your first site, then its places, people and schedules."))
        return see_other(url_for("places.index"))
    return render("auth/first_run.html", form=form, status=422 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out: the session ends on the server (every copy of its cookie with it), and so does
    this phone's device token, unless the person keeps their unsent records sending
    (``keep_sending``): then the phone gives the token back itself once they are all sent."""
    web = g.web_session
    now = utcnow()
    end_session(db.session, web, now=now)
    if web.device is not None and not request.form.get("keep_sending"):
        revoke_device(db.session, web.device, now=now)
    db.session.commit()
    logout_user()
    session.clear()
    return see_other(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@login_required
def language():
    """Keep the person's language choice."""
    form = LanguageForm()
    if form.validate_on_submit():
        current_user.locale = form.locale.data
        db.session.commit()
    return see_other(_safe_next(request.form.get("next")) or url_for("field.today"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect to another host after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
