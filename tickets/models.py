"""Tickets and their history."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.base import Base, str_enum, utcnow
from foundation.org import Department, Location, Site, Tenant, User
from tickets.states import OPEN_STATES, TicketState


def is_open_clause():
    """The SQL of "open" that the partial index ix_ticket_open_due answers."""
    return Ticket.state != TicketState.CLOSED.value


class TicketKind(str, enum.Enum):
    COMPLAINT = "complaint"  # 投诉
    REPAIR = "repair"  # 报修
    VIOLATION = "violation"  # 违章 (fit-out)
    HAZARD = "hazard"  # 隐患 (patrol)
    REWORK = "rework"  # 返工 (cleaning)


class Priority(str, enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Ticket(Base):
    __tablename__ = "ticket"
    # The console counts a site's open work and its weeks: these let both read only what they count.
    # Open tickets are a few percent of all: a partial index holds just them, by due time (queries
    # say ``state != 'closed'`` so that SQLite sees they match it).
    __table_args__ = (
        Index(
            "ix_ticket_open_due",
            "site_id",
            "due_at",
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        Index("ix_ticket_site_created", "site_id", "created_at"),
        Index("ix_ticket_site_closed", "site_id", "closed_at"),
        # One problem, one ticket: a failed checklist item has at most one open ticket at a place,
        # whichever server receives the second failure (inspections.submission joins it).
        Index(
            "ux_ticket_open_item",
            "location_id",
            "item_id",
            unique=True,
            sqlite_where=text("state != 'closed' AND item_id IS NOT NULL"),
            postgresql_where=text("state != 'closed' AND item_id IS NOT NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # may be made by a device
    number: Mapped[str] = mapped_column(String(32), unique=True)  # read out on the phone: BY-20261126-0007
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, 8), default=Priority.NORMAL)
    state: Mapped[TicketState] = mapped_column(str_enum(TicketState, 16), default=TicketState.NEW, index=True)
    version: Mapped[int] = mapped_column(default=1)  # one more with each event; devices send it back
    # Every UPDATE says which version it changes (WHERE version = …): a write from a stale read
    # fails (StaleDataError) instead of overwriting what another server wrote meanwhile. Writers
    # lock the row first (tickets.services.locked), so this is the net, not the rule.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    # How far an overdue ticket has climbed (tickets.escalation): 0 not yet, 1 its head, 2 the managers.
    escalated: Mapped[int] = mapped_column(default=0, server_default="0")  # the last close; None while open
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Taken at the desk (§3.3, §3.4): who called, how to reach them, when they are in.
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"))
    contact_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    available: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # A repair outside the free services is paid (有偿服务, §3.12): the price agreed at intake.
    service_item_id: Mapped[int | None] = mapped_column(ForeignKey("service_item.id"))
    price_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    # The failed checklist item that opened it, if any.
    # Where a phone reported it, as inspections keep it: {lat, lon, accuracy_m} or {status}.
    geo: Mapped[dict | None] = mapped_column(JSON)
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspection.id"))
    item_id: Mapped[str | None] = mapped_column(String(40))

    site: Mapped[Site] = relationship()
    location: Mapped[Location | None] = relationship()
    department: Mapped[Department | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    tenant: Mapped[Tenant | None] = relationship()
    service_item: Mapped[ServiceItem | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[TicketPhoto]] = relationship(order_by="TicketPhoto.position", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.state != TicketState.RESOLVED and self.due_at is not None and self.due_at < now


class DueRule(Base):
    """A site's own time allowed for a kind of ticket at a priority, in hours."""

    __tablename__ = "due_rule"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16), primary_key=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, 8), primary_key=True)
    hours: Mapped[int] = mapped_column()


class ServiceItem(Base):
    """A site's list of services: free ones (repairs of the building's own facilities) and paid
    ones with their price (有偿服务收费标准, §3.12)."""

    __tablename__ = "service_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    price_cents: Mapped[int] = mapped_column(default=0)  # 0: free
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def paid(self) -> bool:
        return self.price_cents > 0


class TicketEvent(Base):
    """One change to a ticket: who, when, from where, and what."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    source: Mapped[str] = mapped_column(String(8))  # web, sync, cli
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(16))  # created, transition, assigned, comment
    version: Mapped[int | None] = mapped_column()  # the ticket's version this event made (None before it was kept)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class TicketPhoto(Base):
    """A photo attached to a ticket. Like answers, it may name a photo still on its way."""

    __tablename__ = "ticket_photo"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    photo_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column()
    # Who cited it: the photo shows on the ticket only if they sent it themselves (photo_reach).
    # None: the system's own (history, the shell).
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class TicketCounter(Base):
    """The last number given out per site and local day."""

    __tablename__ = "ticket_counter"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column()
