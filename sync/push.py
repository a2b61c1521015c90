"""Applying a pushed batch: in order, each mutation exactly once.

Most of a phone's batch is plain inspections (all passed, or failed items that open nothing):
those are checked one by one (reads only) and written together, a statement per table for the
lot, with their exactly-once rows in the same savepoint. Anything else (a ticket, a scan, an
inspection that opens or closes a ticket) is applied on its own in its own savepoint, after the
plain ones before it. A conflict in a set-wise write (the same mutation applied meanwhile by
another request) falls back to one savepoint per mutation. Results stay per mutation, in order."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from foundation.notices import notify
from foundation.org import Device, Origin, User
from inspections.patrol import PatrolScan, ScanRefused, record_scan
from inspections.photo_reach import missing_photos, photos_owed
from inspections.records import Inspection
from inspections.submission import (
    InspectionSubmission,
    PreparedInspection,
    SubmissionRefused,
    prepare_inspection,
    submit_inspection,
    where,
    write_plain_inspections,
)
from sync.entities import ticket_data
from sync.models import AppliedMutation
from sync.schemas import (
    Mutation,
    PatrolScanIn,
    PushRequest,
    TicketCommentIn,
    TicketCreateIn,
    TicketTransitionIn,
)
from tickets.models import Priority, Ticket, TicketKind
from tickets.queries import visible_tickets
from tickets.services import TicketRefused, comment_on_ticket, locked, report_ticket, transition_ticket
from tickets.states import TicketState, TransitionRefused

log = logging.getLogger(__name__)
REFUSALS = (SubmissionRefused, ScanRefused, TicketRefused, TransitionRefused)


class Outcome(BaseModel):
    status: str  # applied, duplicate or conflict
    entity: dict | None = None
    missing_photos: list[str] | None = None


def apply_push(session: Session, batch: PushRequest, *, user: User, device: Device, now: datetime) -> list[dict]:
    """Apply every mutation of the batch in order; return one result per mutation."""
    offset_ms = round((batch.device_time - now).total_seconds() * 1000)
    device.clock_offset_ms = offset_ms
    device.last_seen_at = now
    origin = Origin("sync", device_id=device.id)
    context = _Context(session, user, device, origin, now, offset_ms)
    context.seen = set(
        session.scalars(select(AppliedMutation.id).where(AppliedMutation.id.in_([m.id for m in batch.mutations])))
    )
    # One query for the whole batch instead of one per inspection: which ids exist already.
    claimed = {m.payload.get("inspection_id") for m in batch.mutations if m.type == "inspection.submit"}
    claimed = {uuid.UUID(i) for i in claimed if isinstance(i, str) and _is_uuid(i)}
    context.existing_inspections = set(session.scalars(select(Inspection.id).where(Inspection.id.in_(claimed))))
    results: list[dict | None] = [None] * len(batch.mutations)
    plain: list[_Plain] = []  # waiting to be written together
    waiting: set = set()  # their mutation ids
    for position, mutation in enumerate(batch.mutations):
        if mutation.id in waiting:
            _write_plain(context, plain, results)  # the same id again: a duplicate of a written one
        if not plain:
            waiting.clear()
        prepared = _plain_inspection(context, mutation)
        if isinstance(prepared, dict):  # refused before anything was written
            results[position] = prepared
        elif prepared is not None:
            plain.append(_Plain(position, mutation, prepared))
            waiting.add(mutation.id)
            context.existing_inspections.add(prepared.row["id"])
        else:
            _write_plain(context, plain, results)
            results[position] = _apply_one(context, mutation)
    _write_plain(context, plain, results)
    for mutation, result in zip(batch.mutations, results, strict=True):
        if result["status"] == "rejected":
            _tell_refused(session, user, mutation, result, now)
    return results


def _tell_refused(session: Session, user: User, mutation: Mutation, result: dict, now: datetime) -> None:
    """A record of theirs the server did not accept is a notice (and so a push): the phone may
    have sent it in the background, and only its person can fix it, from the phone's outbox.
    Once per mutation, however often the phone sends it again."""
    notify(
        session,
        user,
        key=f"refused:{mutation.id}",
        what="record_refused",
        facts={"type": mutation.type, "code": result["error"]["code"]},
        link="/outbox",
        now=now,
    )


@dataclass
class _Plain:
    position: int
    mutation: Mutation
    prepared: PreparedInspection


def _plain_inspection(ctx: _Context, mutation: Mutation) -> PreparedInspection | dict | None:
    """A new inspection that writes only its own rows, checked; a rejection (dict) if it is
    refused; None when it must go the one-at-a-time way."""
    if mutation.type != "inspection.submit" or mutation.id in ctx.seen:
        return None
    try:
        payload = MUTATIONS[mutation.type].payload.model_validate(mutation.payload)
    except ValidationError:
        return None  # rejected there, with the details
    if payload.inspection_id in ctx.existing_inspections:
        return None
    try:
        prepared = prepare_inspection(
            ctx.session,
            payload,
            actor=ctx.user,
            origin=ctx.origin,
            now=ctx.now,
            clock_offset_ms=ctx.offset_ms,
            known=ctx.known,
        )
    except SubmissionRefused as refused:
        return _rejected(mutation, refused.code, refused.message, getattr(refused, "item_errors", None) or None)
    ctx.keep.append(prepared)
    return prepared if prepared.plain else None


def _write_plain(ctx: _Context, plain: list[_Plain], results: list) -> None:
    """Write the waiting plain inspections and their exactly-once rows at once."""
    if not plain:
        return
    batch = list(plain)
    plain.clear()
    shas = {sha for p in batch for a in p.prepared.answers for sha in a.photos}
    missing = set(photos_owed(ctx.session, ctx.user, sorted(shas))) if shas else set()
    outcomes = []
    for p in batch:
        owed = (
            [sha for sha in dict.fromkeys(s for a in p.prepared.answers for s in a.photos) if sha in missing]
            if missing
            else []
        )
        p.prepared.row["photos_missing"] = len(owed)
        entity = {
            "inspection_id": str(p.prepared.row["id"]),
            "tickets": [],
            "clock_flagged": p.prepared.row["clock_flagged"],
        }
        outcomes.append({"status": "applied", "entity": entity, "missing_photos": owed})  # an Outcome's dump
    savepoint = ctx.session.begin_nested()
    try:
        write_plain_inspections(ctx.session, [p.prepared for p in batch])
        ctx.session.connection().execute(
            insert(AppliedMutation.__table__),
            [
                {
                    "id": p.mutation.id,
                    "device_id": ctx.device.id,
                    "user_id": ctx.user.id,
                    "type": p.mutation.type,
                    "status": "applied",
                    "result": outcome,
                    "received_at": ctx.now,
                }
                for p, outcome in zip(batch, outcomes, strict=True)
            ],
        )
        savepoint.commit()
    except IntegrityError:
        # Some of these were applied meanwhile by a concurrent request: one at a time, each
        # finds its own fate (applied, or duplicate with the first outcome).
        savepoint.rollback()
        for p in batch:
            results[p.position] = _apply_one(ctx, p.mutation)
        return
    for p, outcome in zip(batch, outcomes, strict=True):
        ctx.seen.add(p.mutation.id)
        results[p.position] = {"id": str(p.mutation.id), **outcome}


class _Context:
    def __init__(self, session, user, device, origin, now, offset_ms):
        self.session, self.user, self.device = session, user, device
        self.origin, self.now, self.offset_ms = origin, now, offset_ms
        self.seen: set = set()  # mutation ids applied before this batch
        self.existing_inspections: set = set()
        # The session's identity map holds rows weakly: keeping what the batch made alive
        # keeps its site, location and checklist version loaded for the next mutation.
        self.keep: list = []
        self.known: dict = {}  # sites, places, versions looked up for the batch's plain inspections

    @cached_property
    def site_ids(self) -> list[int]:
        """The sites the person sees (asked by ticket mutations only)."""
        return [site.id for site in self.user.sites_seen(self.session)]


def _rejected(mutation: Mutation, code: str, message: str, details=None) -> dict:
    return {
        "id": str(mutation.id),
        "status": "rejected",
        "error": {"code": code, "message": message, "details": details},
    }


def _apply_one(ctx: _Context, mutation: Mutation, *, again: bool = False) -> dict:
    session = ctx.session
    if mutation.id in ctx.seen:
        return _again(ctx, session.get(AppliedMutation, mutation.id), mutation)
    kind = MUTATIONS.get(mutation.type)
    if kind is None:
        return _rejected(mutation, "unknown_type", f"unknown mutation type {mutation.type!r}")
    try:
        payload = kind.payload.model_validate(mutation.payload)
    except ValidationError as invalid:
        return _rejected(
            mutation,
            "invalid_payload",
            "the payload is not valid",
            invalid.errors(include_url=False, include_context=False, include_input=False),
        )
    savepoint = session.begin_nested()
    try:
        outcome = kind.apply(ctx, payload)
        result = outcome.model_dump(exclude_none=True)
        # The mutation id is recorded inside the same savepoint as its effects. A concurrent
        # request with the same id blocks on this row's key until we commit, then fails here
        # and rolls its own effects back: applied once, whatever the network did.
        session.connection().execute(
            insert(AppliedMutation.__table__),
            {
                "id": mutation.id,
                "device_id": ctx.device.id,
                "user_id": ctx.user.id,
                "type": mutation.type,
                "status": outcome.status,
                "result": result,
                "received_at": ctx.now,
            },
        )
        savepoint.commit()
        ctx.seen.add(mutation.id)  # the same id again later in this batch is a duplicate
    except REFUSALS as refused:
        savepoint.rollback()
        return _rejected(mutation, refused.code, refused.message, getattr(refused, "item_errors", None) or None)
    except (IntegrityError, StaleDataError) as error:
        savepoint.rollback()
        seen = session.get(AppliedMutation, mutation.id)
        if seen is not None:  # the same mutation, applied meanwhile by a concurrent request
            return _again(ctx, seen, mutation)
        if not again and (isinstance(error, StaleDataError) or kind.made_meanwhile(ctx, payload)):
            # A ticket changed, or the record this creates was made (under another mutation id),
            # by a concurrent request: once more against what is there now, which answers
            # duplicate, conflict or applied as the contract says.
            return _apply_one(ctx, mutation, again=True)
        log.exception("mutation %s (%s) could not be stored", mutation.id, mutation.type)
        return _rejected(mutation, "not_stored", f"the server could not store this change ({_constraint(error)})")
    return {"id": str(mutation.id), **result}


def _constraint(error: Exception) -> str:
    """The name of the rule a write broke, as the database says it (no values: they may be private)."""
    diag = getattr(getattr(error, "orig", None), "diag", None)
    return getattr(diag, "constraint_name", None) or type(getattr(error, "orig", error)).__name__


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _again(ctx: _Context, seen: AppliedMutation, mutation: Mutation) -> dict:
    """A mutation id applied before: its first outcome stands. A change first refused as a
    ``conflict`` is a conflict again, with the ticket as it is now (the device may never have
    heard the first answer); anything else is a ``duplicate`` with its first entity and status."""
    if seen.status == "conflict":  # only ticket changes conflict (SYNC.md, rule 5)
        ticket = ctx.session.scalar(
            visible_tickets(ctx.user, ctx.site_ids).where(Ticket.id == uuid.UUID(seen.result["entity"]["id"]))
        )
        entity = ticket_data(ticket) if ticket is not None else seen.result.get("entity")
        return {"id": str(mutation.id), **seen.result, "status": "conflict", "entity": entity}
    return {"id": str(mutation.id), **seen.result, "status": "duplicate", "first_status": seen.status}


def _inspection(ctx: _Context, payload) -> Outcome:
    submitted = submit_inspection(
        ctx.session,
        payload,
        actor=ctx.user,
        origin=ctx.origin,
        now=ctx.now,
        clock_offset_ms=ctx.offset_ms,
        known_new=payload.inspection_id not in ctx.existing_inspections,
    )
    ctx.existing_inspections.add(payload.inspection_id)
    inspection = submitted.inspection
    ctx.keep.append(inspection)
    missing = photos_owed(ctx.session, ctx.user, [s for a in payload.answers for s in a.photos])
    if submitted.created and missing:
        inspection.photos_missing = len(missing)
    return Outcome(
        status="applied" if submitted.created else "duplicate",
        entity={
            "inspection_id": str(inspection.id),
            "tickets": [t.number for t in submitted.tickets],
            "clock_flagged": inspection.clock_flagged,
        },
        missing_photos=missing,
    )


def _scan(ctx: _Context, payload) -> Outcome:
    scan, created, tickets = record_scan(
        ctx.session,
        scan_id=payload.scan_id,
        route_id=payload.route_id,
        checkpoint_id=payload.checkpoint_id,
        code=payload.code,
        scanned_at=payload.scanned_at,
        answers=payload.answers,
        actor=ctx.user,
        origin=ctx.origin,
        now=ctx.now,
        clock_offset_ms=ctx.offset_ms,
        geo=payload.geo.model_dump() if payload.geo else None,
        geo_status=payload.geo_status,
        template_version=payload.template_version,
    )
    missing = photos_owed(ctx.session, ctx.user, [s for a in payload.answers for s in a.photos])
    if created and missing and scan.inspection_id is not None:
        ctx.session.get(Inspection, scan.inspection_id).photos_missing = len(missing)
    return Outcome(
        status="applied" if created else "duplicate",
        entity={"scan_id": str(scan.id), "tickets": [t.number for t in tickets], "clock_flagged": scan.clock_flagged},
        missing_photos=missing,
    )


def _ticket_create(ctx: _Context, payload) -> Outcome:
    ticket, created = report_ticket(
        ctx.session,
        ticket_id=payload.ticket_id,
        kind=TicketKind(payload.kind),
        title=payload.title,
        description=payload.description,
        site_id=payload.site_id,
        location_id=payload.location_id,
        priority=Priority(payload.priority),
        photos=payload.photos,
        actor=ctx.user,
        origin=ctx.origin,
        now=ctx.now,
        geo=where(payload),
    )
    return Outcome(
        status="applied" if created else "duplicate",
        entity=ticket_data(ticket),
        missing_photos=missing_photos(ctx.session, ctx.user, payload.photos),
    )


def _visible_ticket(ctx: _Context, ticket_id) -> Ticket:
    ticket = locked(ctx.session, visible_tickets(ctx.user, ctx.site_ids).where(Ticket.id == ticket_id))
    if ticket is None:
        raise TicketRefused("unknown_ticket", "no such ticket, or not yours to change")
    return ticket


def _ticket_transition(ctx: _Context, payload) -> Outcome:
    ticket = _visible_ticket(ctx, payload.ticket_id)
    result = transition_ticket(
        ctx.session,
        ticket,
        TicketState(payload.to),
        actor=ctx.user,
        origin=ctx.origin,
        now=ctx.now,
        note=payload.note,
        photos=payload.photos,
        base_version=payload.base_version,
    )
    return Outcome(
        status=result.status,
        entity=ticket_data(ticket),
        missing_photos=missing_photos(ctx.session, ctx.user, payload.photos),
    )


def _ticket_comment(ctx: _Context, payload) -> Outcome:
    ticket = _visible_ticket(ctx, payload.ticket_id)
    comment_on_ticket(
        ctx.session, ticket, text=payload.text, actor=ctx.user, origin=ctx.origin, now=ctx.now, photos=payload.photos
    )
    return Outcome(
        status="applied",
        entity=ticket_data(ticket),
        missing_photos=missing_photos(ctx.session, ctx.user, payload.photos),
    )


@dataclass(frozen=True)
class MutationType:
    """A mutation type, declared once: its payload, how it is applied, and for a create the
    record it makes (model, payload field of its id), by which a create arriving under two
    mutation ids at once is known for a duplicate."""

    payload: type[BaseModel]
    apply: Callable[[_Context, Any], Outcome]
    creates: tuple[type, str] | None = None

    def made_meanwhile(self, ctx: _Context, payload) -> bool:
        if self.creates is None:
            return False
        model, field = self.creates
        made = ctx.session.get(model, getattr(payload, field), populate_existing=True) is not None
        if made and model is Inspection:
            ctx.existing_inspections.add(payload.inspection_id)
        return made


MUTATIONS: dict[str, MutationType] = {
    "inspection.submit": MutationType(InspectionSubmission, _inspection, (Inspection, "inspection_id")),
    "patrol.scan": MutationType(PatrolScanIn, _scan, (PatrolScan, "scan_id")),
    "ticket.create": MutationType(TicketCreateIn, _ticket_create, (Ticket, "ticket_id")),
    "ticket.transition": MutationType(TicketTransitionIn, _ticket_transition),
    "ticket.comment": MutationType(TicketCommentIn, _ticket_comment),
}
