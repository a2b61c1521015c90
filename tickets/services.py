"""Writes to the ticket store. Callers own the transaction; these flush and log."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundation.notices import notify
from foundation.org import Department, Location, Origin, Site, User
from foundation.photos import is_sha256
from foundation.roles import Role
from tickets import webhooks
from tickets.models import DueRule, Priority, ServiceItem, Ticket, TicketCounter, TicketEvent, TicketKind, TicketPhoto
from tickets.states import OPEN_STATES, TicketState, TransitionRefused, check_transition, is_handler

log = logging.getLogger(__name__)

# Hours until due when nothing more specific says so (a failed item's template does).
DEFAULT_DUE_HOURS = {
    Priority.URGENT: 2,
    Priority.HIGH: 8,
    Priority.NORMAL: 24,
    Priority.LOW: 72,
}


def due_hours_for(session: Session, site_id: int, kind: TicketKind, priority: Priority) -> int:
    rule = session.get(DueRule, (site_id, kind, priority))
    return rule.hours if rule else DEFAULT_DUE_HOURS[priority]


def next_ticket_number(session: Session, site: Site, now: datetime) -> str:
    """``<site code>-<local date>-<n>``: short enough to read out on the phone."""
    day = now.astimezone(ZoneInfo(site.timezone)).date()
    bump = (
        update(TicketCounter)
        .where(TicketCounter.site_id == site.id, TicketCounter.day == day)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    )
    for _ in range(3):
        last = session.execute(bump).scalar()
        if last is None:
            try:
                with session.begin_nested():
                    session.execute(insert(TicketCounter).values(site_id=site.id, day=day, last=1))
                last = 1
            except IntegrityError:  # another request made today's counter first
                continue
        return f"{site.code}-{day:%Y%m%d}-{last:04d}"
    raise RuntimeError("could not number a ticket")


def _record(
    session: Session,
    ticket: Ticket,
    *,
    actor: User | None,
    origin: Origin,
    at: datetime,
    action: str,
    note: str = "",
    from_state: TicketState | None = None,
    to_state: TicketState | None = None,
    data: dict | None = None,
) -> TicketEvent:
    # Every change is one event and one version: the event keeps the version it made, so a person
    # whose page showed version 5 can be shown exactly what happened after it.
    ticket.version = (ticket.version or 0) + 1
    ticket.updated_at = at
    event = TicketEvent(
        ticket=ticket,
        version=ticket.version,
        at=at,
        actor_id=actor.id if actor else None,
        source=origin.source,
        device_id=origin.device_id,
        ip=origin.ip,
        action=action,
        note=note,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        data=data or {},
    )
    session.add(event)
    webhooks.enqueue(
        session,
        ticket,
        action,
        at,
        from_state=event.from_state,
        to_state=event.to_state,
        note=note,
        actor_name=actor.display_name if actor else None,
    )
    return event


def _attach_photos(ticket: Ticket, photos: list[str], event: TicketEvent) -> None:
    if not all(is_sha256(sha) for sha in photos):
        raise ValueError("a photo reference is the lowercase hex SHA-256 of its bytes")  # the edges check first
    have = {p.photo_sha256 for p in ticket.photos}
    for sha in photos:
        if sha not in have:
            ticket.photos.append(TicketPhoto(photo_sha256=sha, position=len(ticket.photos), added_by_id=event.actor_id))
            have.add(sha)
    event.data = {**event.data, "photos": list(photos)} if photos else event.data


def open_ticket(
    session: Session,
    *,
    kind: TicketKind,
    title: str,
    site: Site,
    actor: User | None,
    origin: Origin,
    now: datetime,
    description: str = "",
    location: Location | None = None,
    department: Department | None = None,
    priority: Priority = Priority.NORMAL,
    due_hours: int | None = None,
    photos: list[str] = (),
    ticket_id: uuid.UUID | None = None,
    inspection_id: uuid.UUID | None = None,
    item_id: str | None = None,
    assignee: User | None = None,
) -> Ticket:
    """Open a ticket with its number, due time and first history line; with an assignee it
    starts out assigned (the rule that opened it knows who answers for it). The time allowed is
    ``due_hours`` if the caller knows it (a checklist item's), else the site's rule for the kind
    and priority, else the default for the priority."""
    hours = due_hours if due_hours is not None else due_hours_for(session, site.id, kind, priority)
    ticket = Ticket(
        id=ticket_id or uuid.uuid4(),
        number=next_ticket_number(session, site, now),
        kind=kind,
        title=title,
        description=description,
        site_id=site.id,
        location_id=location.id if location else None,
        department_id=department.id if department else None,
        priority=priority,
        state=TicketState.ASSIGNED if assignee else TicketState.NEW,
        assignee_id=assignee.id if assignee else None,
        version=0,  # its first event makes it 1
        due_at=now + timedelta(hours=hours),
        created_at=now,
        updated_at=now,
        created_by_id=actor.id if actor else None,
        inspection_id=inspection_id,
        item_id=item_id,
    )
    session.add(ticket)
    event = _record(
        session,
        ticket,
        actor=actor,
        origin=origin,
        at=now,
        action="created",
        to_state=ticket.state,
        data={"assignee": assignee.display_name} if assignee else None,
    )
    _attach_photos(ticket, list(photos), event)
    session.flush()
    _tell_assignee(session, ticket, assignee, actor, now)
    log.info(
        "ticket %s (%s) opened by %s via %s", ticket.number, kind.value, actor.username if actor else "-", origin.label
    )
    return ticket


@dataclass(frozen=True)
class Outcome:
    """What became of a requested change: ``applied``, ``duplicate`` or ``conflict``."""

    status: str
    ticket: Ticket
    reason: str = ""


def transition_ticket(
    session: Session,
    ticket: Ticket,
    to: TicketState,
    *,
    actor: User,
    origin: Origin,
    now: datetime,
    note: str = "",
    photos: list[str] = (),
    base_version: int | None = None,
) -> Outcome:
    """Move a ticket through the state machine.

    ``base_version`` is the version the person saw. If the ticket has moved on, the change is
    still applied when it makes sense from the current state, and is a ``conflict`` otherwise.
    Raises ``TransitionRefused`` when the person may never make this change.
    """
    if ticket.state == to:
        # Already there (a double tap, or the same intent from a second device): change nothing.
        return Outcome("duplicate", ticket)
    try:
        check_transition(ticket.state, to, actor, ticket.assignee_id, ticket.kind)
        if ticket.kind == TicketKind.COMPLAINT and to == TicketState.CLOSED and not called_back(ticket):
            raise TransitionRefused("callback_required", "a complaint closes after a call-back is recorded")
    except TransitionRefused as refused:
        if base_version is not None and base_version != ticket.version:
            return Outcome("conflict", ticket, refused.code)
        raise
    _move(session, ticket, to, actor=actor, origin=origin, now=now, note=note, photos=photos)
    return Outcome("applied", ticket)


def _move(
    session: Session,
    ticket: Ticket,
    to: TicketState,
    *,
    actor: User,
    origin: Origin,
    now: datetime,
    note: str = "",
    photos: list[str] = (),
    data: dict | None = None,
) -> None:
    frm = ticket.state
    ticket.state = to
    ticket.closed_at = now if to == TicketState.CLOSED else None
    event = _record(
        session,
        ticket,
        actor=actor,
        origin=origin,
        at=now,
        action="transition",
        note=note,
        from_state=frm,
        to_state=to,
        data=data,
    )
    _attach_photos(ticket, list(photos), event)
    session.flush()
    log.info("ticket %s %s → %s by %s via %s", ticket.number, frm.value, to.value, actor.username, origin.label)


def called_back(ticket: Ticket) -> bool:
    """A call-back was recorded since the complaint was last marked resolved."""
    for event in reversed(ticket.events):
        if event.action == "callback":
            return True
        if event.to_state == TicketState.RESOLVED.value:
            return False
    return False


def record_callback(
    session: Session,
    ticket: Ticket,
    *,
    reached: bool,
    satisfied: bool | None,
    remark: str,
    actor: User,
    origin: Origin,
    now: datetime,
) -> None:
    """回访 (§3.3.4 4]): customer service calls the tenant once a complaint is resolved. Satisfied
    closes it; not satisfied reopens it; not reached leaves it resolved for another try (and lets a
    handler close it, the attempt being on record)."""
    if ticket.kind != TicketKind.COMPLAINT or ticket.state != TicketState.RESOLVED:
        raise TransitionRefused("callback_not_due", "a call-back follows a resolved complaint")
    if not is_handler(actor):
        raise TransitionRefused("callback_forbidden", f"{actor.role} may not record call-backs")
    data = {"reached": reached, "satisfied": satisfied if reached else None}
    _record(session, ticket, actor=actor, origin=origin, at=now, action="callback", note=remark, data=data)
    session.flush()
    if reached and satisfied:
        _move(session, ticket, TicketState.CLOSED, actor=actor, origin=origin, now=now)
    elif reached:
        _move(
            session,
            ticket,
            TicketState.IN_PROGRESS,
            actor=actor,
            origin=origin,
            now=now,
            data={"reopened_by": "callback"},
        )


def close_by_recheck(
    session: Session,
    ticket: Ticket,
    *,
    inspection_id: uuid.UUID,
    photos: list[str],
    actor: User,
    origin: Origin,
    now: datetime,
) -> None:
    """A re-check passed the item this ticket was opened for: the fix held, the ticket closes."""
    _move(
        session,
        ticket,
        TicketState.CLOSED,
        actor=actor,
        origin=origin,
        now=now,
        photos=photos,
        data={"recheck": str(inspection_id)},
    )


def report_again(
    session: Session,
    ticket: Ticket,
    *,
    inspection_id: uuid.UUID,
    note: str,
    photos: list[str],
    actor: User,
    origin: Origin,
    now: datetime,
) -> None:
    """The same item failed again before its ticket was closed: one problem stays one ticket,
    with this report in its history; a ticket marked fixed goes back to work."""
    data = {"inspection": str(inspection_id)}
    if ticket.state == TicketState.RESOLVED:
        _move(
            session,
            ticket,
            TicketState.IN_PROGRESS,
            actor=actor,
            origin=origin,
            now=now,
            note=note,
            photos=photos,
            data=data,
        )
        return
    event = _record(session, ticket, actor=actor, origin=origin, at=now, action="reported", note=note, data=data)
    _attach_photos(ticket, list(photos), event)
    session.flush()


def may_assign(actor: User, ticket: Ticket) -> bool:
    """Customer service and managers assign any ticket; a lead (supervisor) hands out their own
    department's work only, and moving it to another department is the desk's call."""
    if actor.role == Role.SUPERVISOR:
        return ticket.department_id is not None and ticket.department_id == actor.department_id
    return is_handler(actor)


def assign_ticket(
    session: Session,
    ticket: Ticket,
    *,
    assignee: User | None,
    department: Department | None,
    actor: User,
    origin: Origin,
    now: datetime,
    note: str = "",
) -> Ticket:
    """Give a ticket to a department and person; a new ticket becomes ``assigned``."""
    if not may_assign(actor, ticket) or (
        actor.role == Role.SUPERVISOR and department is not None and department.id != actor.department_id
    ):
        raise TransitionRefused("assign_forbidden", f"{actor.username} may not assign this ticket there")
    if assignee is not None and not assignee.may_see_site(ticket.site_id):
        raise TransitionRefused("assignee_not_on_site", f"{assignee.username} does not work at this site")
    ticket.assignee_id = assignee.id if assignee else None
    ticket.department_id = department.id if department else ticket.department_id
    frm = ticket.state
    if ticket.state == TicketState.NEW and assignee is not None:
        ticket.state = TicketState.ASSIGNED
    _record(
        session,
        ticket,
        actor=actor,
        origin=origin,
        at=now,
        action="assigned",
        note=note,
        from_state=frm,
        to_state=ticket.state,
        data={
            "assignee": assignee.display_name if assignee else None,
            "department": department.name if department else None,
        },
    )
    session.flush()
    _tell_assignee(session, ticket, assignee, actor, now)
    log.info("ticket %s assigned to %s by %s", ticket.number, assignee.username if assignee else "-", actor.username)
    return ticket


def _tell_assignee(session: Session, ticket: Ticket, assignee: User | None, actor: User | None, now: datetime) -> None:
    """A notice (and so a push to their phone) for whoever a ticket was just given to, unless
    they gave it to themselves."""
    if assignee is None or (actor is not None and actor.id == assignee.id):
        return
    notify(
        session,
        assignee,
        key=f"assigned:{ticket.id}:{assignee.id}",
        what="ticket_assigned",
        facts={"number": ticket.number, "title": ticket.title, "kind": TicketKind(ticket.kind).value},
        link=f"/tickets/{ticket.number}",
        now=now,
    )


def comment_on_ticket(
    session: Session,
    ticket: Ticket,
    *,
    text: str,
    actor: User,
    origin: Origin,
    now: datetime,
    photos: list[str] = (),
) -> Ticket:
    """Add a comment (and photos) to a ticket's history; allowed in every state."""
    event = _record(session, ticket, actor=actor, origin=origin, at=now, action="comment", note=text)
    _attach_photos(ticket, list(photos), event)
    session.flush()
    return ticket


def get_ticket_by_number(session: Session, number: str, *, for_write: bool = False) -> Ticket | None:
    query = select(Ticket).where(Ticket.number == number)
    return locked(session, query) if for_write else session.scalar(query)


def locked(session: Session, query: Select) -> Ticket | None:
    """The ticket ``query`` finds, read afresh and locked until the transaction ends. Every
    change to a ticket starts here: it is checked against the ticket as it is now, and a second
    server changing the same ticket waits, then checks against what the first one wrote."""
    return session.scalar(query.with_for_update(of=Ticket).execution_options(populate_existing=True))


# Which department a ticket goes to when the reporter does not say.
DEFAULT_DEPARTMENT = {
    TicketKind.COMPLAINT: "customer_service",
    TicketKind.REPAIR: "engineering",
    TicketKind.VIOLATION: "engineering",
    TicketKind.HAZARD: "security",
    TicketKind.REWORK: "cleaning",
}
DESK_KINDS = {TicketKind.COMPLAINT}  # taken at the front desk, not reported from the field


class TicketRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def report_ticket(
    session: Session,
    *,
    ticket_id: uuid.UUID,
    kind: TicketKind,
    title: str,
    description: str,
    site_id: int,
    location_id: int | None,
    priority: Priority,
    photos: list[str],
    actor: User,
    origin: Origin,
    now: datetime,
    geo: dict | None = None,
) -> tuple[Ticket, bool]:
    """Open a ticket someone reported (a hazard on a round, a repair). Returns it and whether it is new;
    the same ``ticket_id`` twice is one ticket."""
    existing = session.get(Ticket, ticket_id)
    if existing is not None:
        if existing.created_by_id != actor.id:
            raise TicketRefused("ticket_id_taken", "that ticket id belongs to another ticket")
        return existing, False
    site = session.get(Site, site_id)
    if site is None or not actor.may_see_site(site_id):
        raise TicketRefused("site_forbidden", "you may not write to that site")
    location = session.get(Location, location_id) if location_id is not None else None
    if location_id is not None and (location is None or location.site_id != site_id):
        raise TicketRefused("unknown_location", "no such location on that site")
    if kind in DESK_KINDS and not is_handler(actor):
        raise TicketRefused("kind_forbidden", f"{actor.role} may not open {kind.value} tickets")
    department = session.scalar(select(Department).where(Department.code == DEFAULT_DEPARTMENT[kind]))
    ticket = open_ticket(
        session,
        kind=kind,
        title=title,
        description=description,
        site=site,
        location=location,
        department=department,
        priority=priority,
        photos=photos,
        actor=actor,
        origin=origin,
        now=now,
        ticket_id=ticket_id,
    )
    ticket.geo = geo
    return ticket, True


def open_duplicate(
    session: Session, *, location: Location | None, kind: TicketKind, service_item_id: int | None = None
) -> Ticket | None:
    """An open ticket of the same kind (and service) at the same place: what a new report of the
    same problem should join instead of becoming a second ticket."""
    if location is None:
        return None
    query = select(Ticket).where(
        Ticket.location_id == location.id, Ticket.kind == kind, Ticket.state.in_([s.value for s in OPEN_STATES])
    )
    if service_item_id is not None:
        query = query.where(Ticket.service_item_id == service_item_id)
    return locked(session, query.order_by(Ticket.created_at).limit(1))


def take_at_desk(
    session: Session,
    *,
    kind: TicketKind,
    site: Site,
    location: Location | None,
    title: str,
    description: str,
    actor: User,
    origin: Origin,
    now: datetime,
    tenant=None,
    contact_name: str = "",
    contact_phone: str = "",
    available: str = "",
    priority: Priority = Priority.NORMAL,
    service_item: ServiceItem | None = None,
    photos: list[str] = (),
    join: Ticket | None = None,
) -> Ticket:
    """A complaint or repair phoned in (§3.3, §3.4). With ``join`` the call is added to that open
    ticket as another report instead of opening a second one."""
    if not is_handler(actor):
        raise TicketRefused("kind_forbidden", f"{actor.role} may not take calls at the desk")
    if join is not None:
        event = _record(
            session,
            join,
            actor=actor,
            origin=origin,
            at=now,
            action="reported",
            note="\n".join(part for part in (title, description, contact_name, contact_phone) if part),
            data={"from": "desk"},
        )
        _attach_photos(join, list(photos), event)
        session.flush()
        return join
    department = session.scalar(select(Department).where(Department.code == DEFAULT_DEPARTMENT[kind]))
    ticket = open_ticket(
        session,
        kind=kind,
        title=title,
        description=description,
        site=site,
        location=location,
        department=department,
        priority=priority,
        photos=photos,
        actor=actor,
        origin=origin,
        now=now,
    )
    ticket.tenant_id = tenant.id if tenant else None
    ticket.contact_name, ticket.contact_phone, ticket.available = contact_name, contact_phone, available
    if service_item is not None:
        ticket.service_item_id, ticket.price_cents = service_item.id, service_item.price_cents
    session.flush()
    return ticket
