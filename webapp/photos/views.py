"""Uploading photos from the checklist page and serving them to those who may see them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, or_, select

from inspections.photos import Photo, PhotoRefused, display_name, is_sha256, thumb_name
from inspections.records import Answer, AnswerPhoto, Inspection
from tickets.models import Ticket, TicketPhoto
from webapp import photo_store
from webapp.access import EVERYONE, roles_required, visible_site_ids, visible_tickets
from webapp.extensions import db
from webapp.photos import service
from webapp.photos.messages import photo_error_message

bp = Blueprint("photos", __name__, url_prefix="/photos")


@bp.route("", methods=["POST"])
@roles_required(EVERYONE)
def upload():
    """Store one photo (multipart field ``photo``); answers its hash for the form to keep."""
    upload = request.files.get("photo")
    if upload is None:
        return jsonify(error={"code": "photo_missing", "message": _("Choose a photo.")}), 400
    try:
        photo, _created = service.ingest(upload.read(), current_user)
    except PhotoRefused as refused:
        db.session.rollback()
        return jsonify(error={"code": refused.code, "message": photo_error_message(refused.code)}), refused.status
    db.session.commit()
    return jsonify(sha256=photo.sha256, thumb_url=url_for("photos.thumb", sha256=photo.sha256)), 201


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


def _serve(name: str, sha256: str) -> Response:
    if not is_sha256(sha256) or not _may_view(sha256):
        abort(404)
    response = Response(photo_store.store().get(name), mimetype="image/jpeg")
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
