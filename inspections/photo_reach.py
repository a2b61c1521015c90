"""Which photos a person may see, and so may cite: the one rule for pages, printouts, the photo
routes and the sync API.

A photo is within a person's reach when they sent its bytes themselves, or when it is cited by a
record they may see (an inspection of their sites, a ticket they may see) whose author sent it.
Knowing a photo's hash grants nothing: a record that cites a photo its author never sent shows
nothing of it, and the photo counts as missing for that author until they upload it.
"""

from __future__ import annotations

from sqlalchemy import distinct, exists, func, or_, select
from sqlalchemy.orm import Session

from inspections.org import User
from inspections.photos import Photo, PhotoHolder
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


def inspections_awaiting_photos(session: Session, site_ids: list[int], limit: int = 50) -> list[tuple[Inspection, int]]:
    """Inspections of these sites that cite photos their inspector has not uploaded yet, with how
    many are missing, the longest-waiting first (a phone that still holds the evidence, or lost it)."""
    not_sent = ~exists().where(
        PhotoHolder.photo_sha256 == AnswerPhoto.photo_sha256, PhotoHolder.user_id == Inspection.inspector_id
    )
    missing = func.count(distinct(AnswerPhoto.photo_sha256))
    rows = session.execute(
        select(Inspection, missing)
        .join(Answer, Answer.inspection_id == Inspection.id)
        .join(AnswerPhoto, AnswerPhoto.answer_id == Answer.id)
        .where(Inspection.site_id.in_(site_ids), not_sent)
        .group_by(Inspection.id)
        .order_by(Inspection.received_at)
        .limit(limit)
    ).all()
    return [(inspection, count) for inspection, count in rows]
