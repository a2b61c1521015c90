"""Device tokens: issued at login from the phone, stored only as a hash, revocable."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from foundation.org import Device, User
from foundation.people import PersonRefused, may_manage
from foundation.sessions import end_sessions_of_device

log = logging.getLogger(__name__)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_device_token(
    session: Session, user: User, *, name: str, user_agent: str, now: datetime
) -> tuple[Device, str]:
    """A new device for ``user`` and its token, shown once."""
    token = secrets.token_urlsafe(32)
    device = Device(user_id=user.id, name=name, token_hash=_hash(token), created_at=now, user_agent=user_agent[:500])
    session.add(device)
    session.flush()
    log.info("device %s (%s) registered for %s", device.id, name, user.username)
    return device, token


def device_for_token(session: Session, token: str) -> Device | None:
    """The live device of a token: not revoked, and its person still active."""
    device = session.scalar(select(Device).options(joinedload(Device.user)).where(Device.token_hash == _hash(token)))
    if device is None or device.revoked_at is not None or not device.user.active:
        return None
    return device


def revoke_device(session: Session, device: Device, *, now: datetime, by: User | None = None) -> None:
    """The token stops working, and so does the web session of the browser that syncs with it.
    Revoked by someone other than its owner: only by whoever manages the owner."""
    if by is not None and by.id != device.user_id and not may_manage(by, device.user):
        raise PersonRefused("not_allowed", f"{by.username} may not manage {device.user.username}")
    end_sessions_of_device(session, device, now=now)
    if device.revoked_at is None:
        device.revoked_at = now
        session.flush()
        log.info("device %s revoked by %s", device.id, by.username if by else "its owner")
