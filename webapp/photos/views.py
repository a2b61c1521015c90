"""Serving photos to those who may see them. (Phones upload through the sync API; the
checklist form without JavaScript posts its files with the form.)"""
from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_login import current_user
from sqlalchemy import exists, or_, select

from inspections.photos import Photo, display_name, is_sha256, original_name, thumb_name
from inspections.records import Answer, AnswerPhoto, Inspection
from tickets.models import TicketPhoto
from webapp import photo_store
from webapp.access import EVERYONE, OFFICE, roles_required, visible_site_ids, visible_tickets
from webapp.extensions import db

bp = Blueprint("photos", __name__, url_prefix="/photos")


def _may_view(sha256: str) -> bool:
    """Someone may see a photo they uploaded, or one on an inspection or ticket they may see."""
    photo = db.session.get(Photo, sha256)
    if photo is None:
        return False
    if photo.uploaded_by_id == current_user.id:
        return True
    on_inspection = exists().where(
        AnswerPhoto.photo_sha256 == sha256, AnswerPhoto.answer_id == Answer.id,
        Answer.inspection_id == Inspection.id, Inspection.site_id.in_(visible_site_ids(current_user)))
    visible = visible_tickets(current_user).subquery()
    on_ticket = exists().where(TicketPhoto.photo_sha256 == sha256, TicketPhoto.ticket_id == visible.c.id)
    return bool(db.session.scalar(select(or_(on_inspection, on_ticket))))


def _serve(name: str, sha256: str, mimetype: str = "image/jpeg") -> Response:
    if not is_sha256(sha256) or not _may_view(sha256):
        abort(404)
    response = Response(photo_store.store().get(name), mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"  # content-addressed
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
