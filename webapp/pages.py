"""One template for page and fragment: htmx asks for the fragment, everyone else the page."""

from __future__ import annotations

from flask import Flask, current_app, make_response, redirect, render_template, request
from flask_login import current_user


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render(template_name: str, status: int = 200, **context):
    """Render ``template_name``; it extends the layout unless ``fragment`` is true (htmx)."""
    response = make_response(render_template(template_name, fragment=is_htmx(), **context), status)
    response.headers.add("Vary", "HX-Request")  # the service worker caches GETs: keep the two apart
    return response


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


def install_cache_headers(app: Flask) -> None:
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
            if request.method == "GET" and response.status_code == 200 and getattr(view, "offline_page", False):
                response.headers["X-Offline-Cache"] = str(current_user.id)
        return response
