"""One template for page and fragment: htmx asks for the fragment, everyone else the page."""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, g, get_flashed_messages, make_response, redirect, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from foundation.sessions import session_tag


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render(template_name: str, status: int = 200, **context):
    """Render ``template_name``; it extends the layout unless ``fragment`` is true (htmx)."""
    response = make_response(render_template(template_name, fragment=is_htmx(), **context), status)
    response.headers.add("Vary", "HX-Request")  # the service worker caches GETs: keep the two apart
    return response


def web_session_tag() -> str:
    """The public name of this request's web session (pages carry it; see foundation/sessions)."""
    return session_tag(g.web_session) if "web_session" in g else ""


def see_other(location: str):
    """After a POST, go to a page with GET (303), so a reload does not post again."""
    return redirect(location, code=303)


def offline_page(view):
    """Mark a page the service worker keeps for its person, to open without a network."""
    view.offline_page = True
    return view


def writes_on_get(view):
    """Mark a GET view that writes (chores on the way: notices, today's tasks, a device's last
    pull): on SQLite its transaction takes the write lock from the start, like a POST's."""
    view.writes_on_get = True
    return view


# The service worker's own fetches of pages to keep (Today asks it to warm them) say so.
BACKGROUND_HEADER = "X-Keep-Offline"


def flashes() -> list[tuple[str, str]]:
    """The messages for the page a person is looking at. A page fetched in the background to be
    kept offline leaves them where they are: it would take "saved" from the page about to show
    it, and keep it for days."""
    if request.headers.get(BACKGROUND_HEADER):
        return []
    messages = get_flashed_messages(with_categories=True)
    if messages:
        g.showed_flash = True
    return messages


class _SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, except that a background fetch never sends the cookie back:
    begun before a form's answer set a message in it, its older copy would overwrite the new."""

    def should_set_cookie(self, app: Flask, session) -> bool:
        return not request.headers.get(BACKGROUND_HEADER) and super().should_set_cookie(app, session)


def install_cache_headers(app: Flask) -> None:
    app.add_template_global(flashes)
    app.session_interface = _SessionInterface()

    @app.after_request
    def _cache_headers(response):
        # Pages about a person are never kept by browsers or proxies; the service worker keeps
        # the ones marked offline_page, in that person's own cache, and drops them at logout.
        if request.path.startswith("/static/") and request.args.get("v") and response.status_code == 200:
            # A file's URL carries the build (pwa.asset): that URL never changes content, so the
            # browser keeps it and the service worker's install takes it from there.
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            return response
        if current_user and current_user.is_authenticated and response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
            view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
            kept = getattr(view, "offline_page", False) and not g.get("showed_flash")  # a one-time message
            if request.method == "GET" and response.status_code == 200 and kept:
                response.headers["X-Offline-Cache"] = str(current_user.id)
                return _revalidated(response)
        return response


def fresh_in_page(*values: str) -> tuple[str, ...]:
    """Values a page renders anew at each request that do not make it a different page (the form
    token is one): they are left out of its validator."""
    g.setdefault("fresh_in_page", []).extend(values)
    return values


def _revalidated(response):
    """An offline page carries a validator, so that the worker's check for a newer copy costs
    nothing when nothing changed (304). The validator is the page as this person sees it in
    this session, minus the form token (a new one is signed at every render, and the copy the
    phone keeps stays good for the whole session)."""
    body = response.get_data()
    for fresh in [g.get("csrf_token"), *g.get("fresh_in_page", [])]:
        if fresh:
            body = body.replace(fresh.encode(), b"")
    digest = hashlib.sha256(f"{current_user.id}|{web_session_tag()}|".encode() + body).hexdigest()[:32]
    response.set_etag(digest, weak=True)  # the same page, compressed or not
    if request.if_none_match.contains_weak(digest):
        response.status_code = 304
        response.set_data(b"")
    return response
