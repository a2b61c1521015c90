"""Outgoing webhooks: every ticket event is offered to the subscribed endpoints (an SMS gateway,
a call centre), signed with HMAC-SHA256, retried with backoff, and logged.

A delivery is written in the same transaction as the event it reports, so nothing is announced
that did not happen and nothing that happened is missed; ``deliver_due`` sends them later
(``flask webhooks deliver``, from cron or a loop)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.base import Base, utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Fieldcheck-Signature"  # "sha256=<hex HMAC of the body with the secret>"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
TIMEOUT_S = 5
# How long a claimed delivery is left to the worker sending it before another may try it.
CLAIM_LEASE = timedelta(minutes=5)


class Webhook(Base):
    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))  # None: every site
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))  # ticket.created, ticket.transition, …
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    webhook: Mapped[Webhook] = relationship()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _subscribed(session: Session, site_id: int) -> list[tuple[int, int | None]]:
    # Looked up once per unit of work: a pushed batch records many events.
    key = "webhooks"
    if key not in session.info:
        session.info[key] = session.execute(select(Webhook.id, Webhook.site_id).where(Webhook.active)).all()
    return [(wid, sid) for wid, sid in session.info[key] if sid is None or sid == site_id]


def forget_subscriptions(session: Session) -> None:
    session.info.pop("webhooks", None)


def enqueue(
    session: Session,
    ticket,
    action: str,
    at: datetime,
    *,
    from_state: str | None,
    to_state: str | None,
    note: str,
    actor_name: str | None,
) -> None:
    """Queue one delivery per subscribed endpoint for a ticket event."""
    hooks = _subscribed(session, ticket.site_id)
    if not hooks:
        return
    payload = {
        "event": f"ticket.{action}",
        "at": at.isoformat(),
        "actor": actor_name,
        "from_state": from_state,
        "to_state": to_state,
        "note": note,
        "ticket": {
            "id": str(ticket.id),
            "number": ticket.number,
            "kind": getattr(ticket.kind, "value", ticket.kind),
            "state": getattr(ticket.state, "value", ticket.state),
            "title": ticket.title,
            "site_id": ticket.site_id,
            "location_id": ticket.location_id,
            "department_id": ticket.department_id,
            "assignee_id": ticket.assignee_id,
            "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        },
    }
    for webhook_id, _site in hooks:
        session.add(
            WebhookDelivery(
                webhook_id=webhook_id, event=payload["event"], payload=payload, next_attempt_at=at, created_at=at
            )
        )


class WebhookRefused(ValueError):
    """A URL a webhook may not send to; ``code`` says why (the page words it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # bad_url, not_https, unresolvable, internal_address


@dataclass(frozen=True)
class AddressRules:
    """Where webhooks may go: https to public addresses only, unless the administrator's settings
    allow http (an on-premise receiver) or name internal networks (WEBHOOK_ALLOW_HTTP,
    WEBHOOK_ALLOWED_NETWORKS). A manager's URL must never make the server a scanner of its own
    network: loopback, private, link-local (the cloud's metadata address), multicast, reserved
    and unspecified addresses are refused in every spelling, since the check is on the resolved
    address (0x7f000001, 2130706433, ::ffff:127.0.0.1 all resolve to 127.0.0.1)."""

    allow_http: bool = False
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def allows(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast

    @classmethod
    def from_settings(cls, config) -> AddressRules:
        return cls(config["WEBHOOK_ALLOW_HTTP"], config["WEBHOOK_ALLOWED_NETWORKS"])


def resolve(url: str, rules: AddressRules) -> tuple[str, int, str]:
    """(host, port, address to connect to) for a URL the rules allow, or WebhookRefused. Done
    when the URL is saved and again before every delivery (a name can point elsewhere later)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookRefused("bad_url", str(error)) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookRefused("bad_url", "not an http(s) URL")
    if parts.scheme == "http" and not rules.allow_http:
        raise WebhookRefused("not_https", "only https")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookRefused("unresolvable", f"{parts.hostname}: {error}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    refused = [str(a) for a in addresses if not rules.allows(a)]
    if refused or not addresses:
        raise WebhookRefused("internal_address", f"{parts.hostname} is {', '.join(refused)}")
    return parts.hostname, port, str(addresses[0])


Sender = Callable[[str, bytes, dict[str, str], AddressRules], int]


def http_post(url: str, body: bytes, headers: dict[str, str], rules: AddressRules) -> int:
    """POST to the address just checked (not to a second lookup of the name), without following
    redirects; the status code is all that is kept of the answer."""
    host, port, address = resolve(url, rules)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=TIMEOUT_S)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    connection._create_connection = lambda _where, timeout, source: socket.create_connection(  # noqa: SLF001
        (address, port), timeout, source
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body, headers)
        return connection.getresponse().status
    finally:
        connection.close()


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … at most an hour between tries."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempts: int
    url: str
    body: bytes
    headers: dict[str, str]


def deliver_due(
    session: Session, now: datetime, rules: AddressRules = AddressRules(), send: Sender = http_post, limit: int = 100
) -> int:
    """Send up to ``limit`` deliveries whose time has come; returns how many were delivered.

    No transaction stays open while a receiver is called (one that never answers must hold
    nobody up): each delivery is claimed in a short transaction, which moves its next attempt
    past the call so that other workers skip it (and a worker that dies mid-call leaves it to be
    tried again then), sent with none open, and its outcome recorded in another. The session's
    transaction is committed first."""
    session.commit()
    delivered = 0
    for _ in range(limit):
        claim = _claim_next(session, now)
        if claim is None:
            break
        try:
            status, error = send(claim.url, claim.body, claim.headers, rules), ""
        except WebhookRefused as refused:
            status, error = None, refused.code
        except TimeoutError:
            status, error = None, "timeout"
        except (OSError, http.client.HTTPException):  # refused, unreachable, TLS, a broken answer
            status, error = None, "unreachable"
        delivered += _record_outcome(session, claim, status, error, now)
    return delivered


def _claim_next(session: Session, now: datetime) -> _Claim | None:
    delivery = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if delivery is None:
        session.commit()
        return None
    delivery.attempts += 1
    delivery.next_attempt_at = now + CLAIM_LEASE
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    claim = _Claim(
        delivery.id,
        delivery.attempts,
        delivery.webhook.url,
        body,
        {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(delivery.webhook.secret, body),
            "X-Fieldcheck-Event": delivery.event,
            "X-Fieldcheck-Delivery": str(delivery.id),
        },
    )
    session.commit()
    return claim


def _record_outcome(session: Session, claim: _Claim, status: int | None, error: str, now: datetime) -> int:
    """1 if delivered. Nothing is written when the claim ran out and another worker took it."""
    delivery = session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
    if delivery is None or delivery.attempts != claim.attempts or delivery.status != "pending":
        session.commit()
        return 0
    delivery.last_status, delivery.last_error = status, error
    sent = status is not None and 200 <= status < 300
    if sent:
        delivery.status, delivery.delivered_at = "delivered", now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
        log.warning("webhook delivery %s to %s failed for good: %s", delivery.id, claim.url, error or status)
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    session.commit()
    return int(sent)


def recent_deliveries(session: Session, site_ids: list[int], limit: int = 50) -> list[WebhookDelivery]:
    return list(
        session.scalars(
            select(WebhookDelivery)
            .join(Webhook)
            .where(or_(Webhook.site_id.is_(None), Webhook.site_id.in_(site_ids)))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
