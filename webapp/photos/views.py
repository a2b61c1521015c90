"""Serving photos to those who may see them. (Phones upload through the sync API; the
checklist form without JavaScript posts its files with the form.)"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_login import current_user

from foundation.photos import Photo, display_name, is_sha256, original_name, thumb_name
from foundation.roles import EVERYONE, OFFICE
from inspections.photo_reach import photos_within_reach
from webapp import photo_store
from webapp.access import roles_required
from webapp.extensions import db

bp = Blueprint("photos", __name__, url_prefix="/photos")


def may_view(sha256: str) -> bool:
    """The one rule for every photo route, page and printout (``inspections.photo_reach``)."""
    return is_sha256(sha256) and sha256 in viewable([sha256])


@bp.app_template_global("viewable_photos")
def viewable(shas: list[str]) -> set[str]:
    """Those of ``shas`` the person may see: pages show no other (a hash grants nothing)."""
    return photos_within_reach(db.session, current_user, shas)


def _serve(name: str, sha256: str, mimetype: str = "image/jpeg") -> Response:
    """Every request is checked (no-cache: a shared phone's browser asks again after a logout),
    and a copy the browser already has costs a 304 (its name is its ETag: content-addressed)."""
    if not may_view(sha256):
        abort(404)
    etag = name.replace("/", "-")
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(photo_store.store().get(name), mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/<sha256>")
@roles_required(EVERYONE)
def show(sha256: str):
    """The display copy: upright, at most 1600 px, without EXIF."""
    return _serve(display_name(sha256), sha256)


@bp.route("/<sha256>/thumb")
@roles_required(EVERYONE)
def thumb(sha256: str):
    """A small copy for lists."""
    return _serve(thumb_name(sha256), sha256)


@bp.route("/<sha256>/original")
@roles_required(OFFICE)
def original(sha256: str):
    """The bytes as the phone sent them, the evidence whose SHA-256 names the photo (EXIF and
    all): for a manager who must show a contractor or a court what was taken."""
    photo = db.session.get(Photo, sha256) if is_sha256(sha256) else None
    response = _serve(original_name(sha256), sha256, photo.content_type if photo else "image/jpeg")
    response.headers["Content-Disposition"] = f'attachment; filename="{sha256}"'
    return response
