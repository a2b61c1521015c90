"""Web sessions kept on the server, so that the server can end them.

The cookie carries only a session's id (signed). Every request looks the session up: logout, a
password reset, deactivation and a revoked phone end it at once, on every copy of the cookie.
A session lasts a shift (12 hours) across app restarts, or 30 days on a person's own phone.
A session may be bound to the device token its phone syncs with: revoking either ends both.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, select, update
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from foundation.base import Base, new_uuid
from foundation.org import Device, User

log = logging.getLogger(__name__)

SHIFT = timedelta(hours=12)
OWN_PHONE = timedelta(days=30)


class WebSession(Base):
    __tablename__ = "web_session"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The device token this browser syncs with, once it has one.
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"), index=True)
    own_phone: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
    device: Mapped[Device | None] = relationship()

    def live(self, now: datetime) -> bool:
        return (
            self.ended_at is None
            and self.expires_at > now
            and self.user.active
            and (self.device is None or self.device.revoked_at is None)
        )


def session_tag(web: WebSession) -> str:
    """A name for the session that pages may carry (the phone notices a new session by it)."""
    return hashlib.sha256(web.id.bytes).hexdigest()[:16]


def start_session(session: Session, user: User, *, own_phone: bool, now: datetime) -> WebSession:
    web = WebSession(
        user_id=user.id, own_phone=own_phone, created_at=now, expires_at=now + (OWN_PHONE if own_phone else SHIFT)
    )
    session.add(web)
    session.flush()
    return web


def live_session(session: Session, session_id: str | None, user_id: int, now: datetime) -> WebSession | None:
    """The live session of that id for that person, or None (ended, expired, unknown, forged)."""
    try:
        key = uuid.UUID(session_id or "")
    except ValueError:
        return None
    # One statement for the session, its person and its device: a concurrent request that binds
    # another device (and revokes this one) is seen whole or not at all, never half (PostgreSQL's
    # read committed would otherwise show the old binding with the old device already revoked).
    web = session.get(WebSession, key, options=[joinedload(WebSession.device), joinedload(WebSession.user)])
    if web is None or web.user_id != user_id or not web.live(now):
        return None
    return web


def end_session(session: Session, web: WebSession, *, now: datetime) -> None:
    if web.ended_at is None:
        web.ended_at = now
        session.flush()


def end_sessions_of_device(session: Session, device: Device, *, now: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.device_id == device.id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session="fetch")
    )


def end_everything(session: Session, user: User, *, now: datetime) -> None:
    """Every web session and device token of ``user`` ends (their password changed, or they
    left): each copy of their cookie and each of their phones must log in again."""
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session="fetch")
    )
    for device in session.scalars(select(Device).where(Device.user_id == user.id, Device.revoked_at.is_(None))):
        device.revoked_at = now
    session.flush()
    log.info("every session and device of %s ended", user.username)
