"""One template for page and fragment: htmx asks for the fragment, everyone else the page."""
from __future__ import annotations

from flask import make_response, redirect, render_template, request


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
