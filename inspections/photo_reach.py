"""Which photos a person may see, and so may cite: the one rule for pages, printouts, the photo
routes and the sync API.

A photo is within a person's reach when they sent its bytes themselves, or when it is cited by a
record they may see (an inspection of their sites, a ticket they may see) whose author sent it.
Knowing a photo's hash grants nothing: a record that cites a photo its author never sent shows
nothing of it, and the photo counts as missing for that author until they upload it.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from foundation.base import hold_lock
from foundation.org import User
from foundation.photos import Photo, PhotoHolder
from inspections.records import Answer, AnswerPhoto, Inspection
from tickets.models import TicketPhoto
from tickets.queries import visible_tickets


def photos_within_reach(session: Session, user: User, shas: list[str]) -> set[str]:
    """The stored photos among ``shas`` that ``user`` may see."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return set()
    site_ids = [site.id for site in user.sites_seen(session)]

    def sent_by(author_id) -> exists:
        return exists().where(PhotoHolder.photo_sha256 == Photo.sha256, PhotoHolder.user_id == author_id)

    on_inspection = exists().where(
        AnswerPhoto.photo_sha256 == Photo.sha256,
        AnswerPhoto.answer_id == Answer.id,
        Answer.inspection_id == Inspection.id,
        Inspection.site_id.in_(site_ids),
        sent_by(Inspection.inspector_id),
    )
    tickets = visible_tickets(user, site_ids).subquery()
    on_ticket = exists().where(
        TicketPhoto.photo_sha256 == Photo.sha256,
        TicketPhoto.ticket_id == tickets.c.id,
        or_(TicketPhoto.added_by_id.is_(None), sent_by(TicketPhoto.added_by_id)),
    )
    return set(
        session.scalars(
            select(Photo.sha256).where(Photo.sha256.in_(wanted), or_(sent_by(user.id), on_inspection, on_ticket))
        )
    )


def missing_photos(session: Session, user: User, shas: list[str]) -> list[str]:
    """The photos a record of ``user`` names that they have not sent and may not see: not on the
    server yet, or someone else's (the same until they upload the bytes themselves)."""
    wanted = list(dict.fromkeys(shas))
    have = photos_within_reach(session, user, wanted)
    return [sha for sha in wanted if sha not in have]


def photos_owed(session: Session, user: User, shas: list[str]) -> list[str]:
    """The photos a record arriving now still misses, settled against an upload of the same
    person's running at the same moment on another server: whichever takes the person's lock
    first, the other sees it (an upload recounts the record, or the record sees the photo), so
    a record never waits for a photo that is there."""
    missing = missing_photos(session, user, shas)
    if missing:
        hold_lock(session, "photos_of_person", user.id)
        missing = missing_photos(session, user, shas)
    return missing


def photos_arrived(session: Session, user: User) -> None:
    """``user`` uploaded a photo: recount the photos their waiting records still miss (the
    count is set when a record arrives through sync, sync/push.py). The upload holds the
    person's lock from before it stores the photo (``photos_owed``)."""
    waiting = session.scalars(
        select(Inspection).where(Inspection.inspector_id == user.id, Inspection.photos_missing > 0)
    ).all()
    for inspection in waiting:
        shas = [photo.photo_sha256 for answer in inspection.answers for photo in answer.photos]
        inspection.photos_missing = len(missing_photos(session, user, shas))


def inspections_awaiting_photos(session: Session, site_ids: list[int], limit: int = 50) -> list[Inspection]:
    """Inspections of these sites whose author still owes photos, the longest-waiting first (a
    phone that still holds the evidence, or lost it)."""
    return list(
        session.scalars(
            select(Inspection)
            .where(Inspection.site_id.in_(site_ids), Inspection.photos_missing > 0)
            .order_by(Inspection.received_at)
            .limit(limit)
        )
    )
