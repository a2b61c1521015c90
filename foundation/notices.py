"""In-app notices: what a person must know about (a missed round, an overdue ticket)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.base import Base
from foundation.org import User

log = logging.getLogger(__name__)


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    key: Mapped[str] = mapped_column(String(120))  # one notice per person and event, however often raised
    # What happened, as a code and its facts: the reader's page words it in the reader's language
    # (webapp.labels.notice_words). ``text`` carries words already written: {"title", "body"}.
    what: Mapped[str] = mapped_column(String(40))
    facts: Mapped[dict] = mapped_column(JSON)
    link: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()
    pushed_at: Mapped[datetime | None] = mapped_column(index=True)  # sent to the person's phones (web_push)


def notify(session: Session, user: User, *, key: str, what: str, facts: dict, link: str, now: datetime) -> bool:
    """Raise a notice once; raising it again changes nothing. True if it is new."""
    if session.scalar(select(Notice.id).where(Notice.user_id == user.id, Notice.key == key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Notice(user_id=user.id, key=key, what=what, facts=facts, link=link, created_at=now))
    except IntegrityError:  # raised at the same moment by another worker
        return False
    log.info("notice %s for %s", key, user.username)
    return True


def unread(session: Session, user: User) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.user_id == user.id, Notice.read_at.is_(None))
            .order_by(Notice.created_at.desc())
            .limit(20)
        )
    )
