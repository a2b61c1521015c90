"""Web Push (RFC 8030, VAPID RFC 8292, payloads encrypted per RFC 8291) to the phones: a phone's
subscription belongs to its device token and dies with it; the person's new notices are sent to
each of their live subscriptions, several at once as one notification."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from sqlalchemy import JSON, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.base import Base
from foundation.notices import Notice
from foundation.org import Device, User

log = logging.getLogger(__name__)

PUSH_WITHIN = timedelta(hours=18)  # older unsent notices are stale news (a night's quiet hours fit)
TTL_S = 12 * 3600  # how long the push service keeps a message for a phone that is off


class PushSubscription(Base):
    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()


class PushPreference(Base):
    """A person's own choices; without a row: every kind, quiet outside their working hours."""

    __tablename__ = "push_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    muted: Mapped[list[str]] = mapped_column(JSON, default=list)  # Notice.what values not pushed
    quiet_start: Mapped[time | None] = mapped_column()  # both None: quiet outside working hours
    quiet_end: Mapped[time | None] = mapped_column()


def subscribe(session: Session, device: Device, *, endpoint: str, p256dh: str, auth: str, now: datetime) -> None:
    """The device's one subscription (a browser that renews it replaces the old one)."""
    session.execute(
        delete(PushSubscription).where(
            (PushSubscription.device_id == device.id) | (PushSubscription.endpoint == endpoint)
        )
    )
    session.add(
        PushSubscription(
            device_id=device.id, user_id=device.user_id, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=now
        )
    )
    session.flush()


def unsubscribe(session: Session, device: Device) -> None:
    session.execute(delete(PushSubscription).where(PushSubscription.device_id == device.id))


# --- keys ----------------------------------------------------------------------------------------


def make_keys(path: Path) -> None:
    """The server's VAPID key pair, made once (setup) and kept in the instance folder."""
    if path.exists():
        return
    vapid = Vapid02()
    vapid.generate_keys()
    path.parent.mkdir(parents=True, exist_ok=True)
    vapid.save_key(str(path))
    path.chmod(0o600)


def public_key(path: Path) -> str:
    """The application server key a browser subscribes with: the public key's raw point, base64url."""
    raw = Vapid02.from_file(str(path)).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    url: str
    count: int  # notices it stands for

    def payload(self) -> str:
        return json.dumps({"title": self.title, "body": self.body, "url": self.url, "count": self.count})


Words = Callable[[User, list[Notice]], Message]  # a person's new notices as one message, in their language
Send = Callable[[PushSubscription, str], int]  # sends a payload; the push service's status
HeldUntil = Callable[[User, datetime], datetime | None]  # the end of the person's quiet hours, if now is in them


def vapid_sender(key_path: Path, subject: str) -> Send:
    def send(subscription: PushSubscription, payload: str) -> int:
        try:
            response = webpush(
                {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                payload,
                vapid_private_key=str(key_path),
                vapid_claims={"sub": subject},
                ttl=TTL_S,
                timeout=10,
            )
        except WebPushException as error:
            if error.response is None:
                raise
            return error.response.status_code
        return response.status_code

    return send


def send_pushes(session: Session, now: datetime, words: Words, send: Send, held_until: HeldUntil) -> int:
    """Each person's notices not yet pushed, as one message to each of their live subscriptions
    (a revoked device's are gone with it); kinds the person muted stay in the app only, and in
    their quiet hours the notices wait for the hours to end. A push service answering 404 or 410
    has dropped the subscription: so do we. Any other failure raises, and the job engine tries
    again: nothing is marked sent until every phone of the person has it. Returns the messages sent."""
    pending = list(
        session.scalars(
            select(Notice).where(Notice.pushed_at.is_(None)).order_by(Notice.user_id, Notice.created_at, Notice.id)
        )
    )
    by_user: dict[int, list[Notice]] = defaultdict(list)
    for notice in pending:
        by_user[notice.user_id].append(notice)
    sent = 0
    for user_id, notices in by_user.items():
        subscriptions = session.scalars(
            select(PushSubscription)
            .join(Device, Device.id == PushSubscription.device_id)
            .where(PushSubscription.user_id == user_id, Device.revoked_at.is_(None), Device.user_id == user_id)
        ).all()
        person = session.get(User, user_id)
        preference = session.get(PushPreference, user_id)
        muted = set(preference.muted) if preference else set()
        fresh = [n for n in notices if now - n.created_at <= PUSH_WITHIN and n.what not in muted]
        # Quiet hours are worked out only for someone with a phone to tell: the next run after them sends these.
        if fresh and subscriptions and held_until(person, now) is not None:
            continue
        if fresh and subscriptions:
            payload = words(person, fresh).payload()
            for subscription in subscriptions:
                status = send(subscription, payload)
                if status in (404, 410):
                    log.info("push subscription %s is gone (%s): removed", subscription.id, status)
                    session.delete(subscription)
                elif not 200 <= status < 300:
                    raise RuntimeError(f"the push service answered {status}")
                else:
                    sent += 1
        for notice in notices:
            notice.pushed_at = now
        session.flush()
    return sent
