"""Tickets: the list of a person's sites and one ticket with its history and actions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from foundation.base import utcnow
from foundation.org import Department, Location, LocationKind, Origin, Site, Tenant, User, user_site
from foundation.photos import PhotoRefused
from foundation.roles import DESK, EVERYONE, HANDLERS, OFFICE, PLACE_HISTORY, Role
from inspections.timeline import STREAMS
from inspections.timeline import timeline as place_timeline
from tickets.models import DueRule, Priority, ServiceItem, Ticket, TicketKind
from tickets.services import (
    assign_ticket,
    called_back,
    comment_on_ticket,
    due_hours_for,
    get_ticket_by_number,
    may_assign,
    open_duplicate,
    record_callback,
    take_at_desk,
    transition_ticket,
)
from tickets.states import OPEN_STATES, TicketState, TransitionRefused, is_handler, next_states
from webapp.access import may_see_ticket, require_site, roles_required, visible_site_ids, visible_sites, visible_tickets
from webapp.choices import choices
from webapp.downloads import download
from webapp.extensions import db
from webapp.filters import yuan
from webapp.form_rules import Form
from webapp.labels import KIND_LABELS, PRIORITY_LABELS, department_label
from webapp.pages import offline_page, render, see_other
from webapp.photos import service as photo_service
from webapp.photos.messages import photo_error_message
from webapp.printouts import ticket_pdf
from webapp.tickets.forms import AssignForm, CallbackForm, CommentForm, IntakeForm, TransitionForm

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


@bp.route("")
@roles_required(EVERYONE)
@offline_page
def index():
    """Tickets the person may see, open ones first; filters stay in the URL."""
    query = visible_tickets(current_user)
    state = request.args.get("state", "open")
    kind = request.args.get("kind", "")
    if state == "open":
        query = query.where(Ticket.state.in_([s.value for s in OPEN_STATES]))
    elif state in {s.value for s in TicketState}:
        query = query.where(Ticket.state == state)
    if kind in {k.value for k in TicketKind}:
        query = query.where(Ticket.kind == kind)
    tickets = db.session.scalars(query.order_by(Ticket.due_at, Ticket.number).limit(200)).all()
    return render(
        "tickets/index.html",
        tickets=tickets,
        state=state,
        kind=kind,
        now=utcnow(),
        kinds=list(TicketKind),
        states=list(TicketState),
    )


def priority_label(priority: Priority) -> str:
    return str(PRIORITY_LABELS[priority.value])


def kind_label(kind: TicketKind) -> str:
    return str(KIND_LABELS[kind.value])


def _intake_form(formdata=None) -> IntakeForm:
    form = IntakeForm(formdata=formdata)
    site_ids = visible_site_ids(current_user)
    places = db.session.scalars(
        select(Location)
        .where(
            Location.site_id.in_(site_ids),
            Location.kind.in_([LocationKind.UNIT, LocationKind.AREA]),
            Location.archived_at.is_(None),
        )
        .order_by(Location.site_id, Location.kind.desc(), Location.id)
    )
    form.location_id.choices = choices((p.id, f"{p.site.name} · {p.full_name}") for p in places)
    tenants = db.session.scalars(select(Tenant).where(Tenant.site_id.in_(site_ids)).order_by(Tenant.name))
    form.tenant_id.choices = choices([(0, "—")] + [(t.id, t.name) for t in tenants])
    form.priority.choices = choices((p.value, priority_label(p)) for p in Priority)
    items = db.session.scalars(
        select(ServiceItem)
        .where(ServiceItem.site_id.in_(site_ids), ServiceItem.active)
        .order_by(ServiceItem.price_cents, ServiceItem.id)
    )
    form.service_item_id.choices = choices(
        [(0, "—")]
        + [
            (i.id, f"{i.name} · " + (_("paid service %(price)s", price=yuan(i.price_cents)) if i.paid else _("free")))
            for i in items
        ]
    )
    return form


@bp.route("/new", methods=["GET", "POST"])
@roles_required(DESK)
def new():
    """Take a complaint or a repair on the phone; a call about an open problem joins its ticket."""
    form = _intake_form(request.form if request.method == "POST" else None)
    if request.method == "GET" or not form.validate():
        return render("tickets/new.html", form=form, duplicate=None, status=422 if form.errors else 200)
    location = db.session.get(Location, form.location_id.data)
    require_site(location.site_id)
    shas = [s for s in (form.photo_shas.data or "").split(",") if s]
    for upload in request.files.getlist(form.photos.name):
        if upload and upload.filename:
            try:
                shas.append(photo_service.ingest(upload.read(), current_user)[0].sha256)
            except PhotoRefused as refused:
                form.photos.errors.append(photo_error_message(refused.code))
    db.session.commit()  # photos received are kept, whatever happens to the form
    form.photo_shas.data = ",".join(dict.fromkeys(shas))
    if form.photos.errors:
        return render("tickets/new.html", form=form, duplicate=None, status=422)
    kind = TicketKind(form.kind.data)
    item = db.session.get(ServiceItem, form.service_item_id.data) if kind == TicketKind.REPAIR else None
    duplicate = open_duplicate(db.session, location=location, kind=kind, service_item_id=item.id if item else None)
    if duplicate is not None and form.decision.data not in ("join", "new"):
        return render("tickets/new.html", form=form, duplicate=duplicate, status=409)
    tenant = db.session.get(Tenant, form.tenant_id.data) if form.tenant_id.data else None
    ticket = take_at_desk(
        db.session,
        kind=kind,
        site=location.site,
        location=location,
        title=form.title.data.strip(),
        description=(form.description.data or "").strip(),
        actor=current_user,
        origin=Origin("web", ip=request.remote_addr),
        now=utcnow(),
        tenant=tenant,
        contact_name=form.contact_name.data.strip(),
        contact_phone=form.contact_phone.data.strip(),
        available=(form.available.data or "").strip(),
        priority=Priority(form.priority.data),
        service_item=item,
        photos=list(dict.fromkeys(shas)),
        join=duplicate if form.decision.data == "join" else None,
    )
    db.session.commit()
    flash(
        _("Added to %(number)s.", number=ticket.number)
        if form.decision.data == "join" and duplicate
        else _("Ticket %(number)s opened.", number=ticket.number)
    )
    return see_other(url_for("tickets.show", number=ticket.number))


def _load(number: str, *, for_write: bool = False) -> Ticket:
    """The ticket a page names, if this person may see it; locked when the request changes it."""
    ticket = get_ticket_by_number(db.session, number, for_write=for_write)
    if ticket is None or not may_see_ticket(current_user, ticket):
        abort(404)
    return ticket


def _assign_form(ticket: Ticket, formdata=None) -> AssignForm:
    form = (
        AssignForm(formdata=formdata)
        if formdata is not None
        else AssignForm(department_id=ticket.department_id or 0, assignee_id=ticket.assignee_id or 0)
    )
    departments = select(Department).order_by(Department.id)
    if current_user.role == Role.SUPERVISOR:  # a lead keeps the work in their own department
        departments = departments.where(Department.id == current_user.department_id)
    form.department_id.choices = choices(
        ([] if current_user.role == Role.SUPERVISOR else [(0, "—")])
        + [(d.id, department_label(d.code)) for d in db.session.scalars(departments)]
    )
    people = db.session.scalars(
        select(User)
        .join(user_site)
        .where(user_site.c.site_id == ticket.site_id, User.active)
        .order_by(User.display_name)
    )
    form.assignee_id.choices = choices([(0, "—")] + [(u.id, u.display_name) for u in people])
    return form


@bp.route("/<number>")
@roles_required(EVERYONE)
@offline_page
def show(number: str):
    """One ticket: its facts, photos, history, and what the person may do next."""
    ticket = _load(number)
    return _show(ticket)


@bp.route("/<number>.pdf")
@roles_required(EVERYONE)
def printout(number: str):
    """The ticket on paper: facts, photos and the whole history."""
    ticket = _load(number)
    return download(
        ticket_pdf(ticket, current_user.display_name, utcnow()), "application/pdf", f"{ticket.number}.pdf", "inline"
    )


def _show(
    ticket: Ticket,
    assign_form: AssignForm | None = None,
    comment_form: CommentForm | None = None,
    status: int = 200,
    callback_form: CallbackForm | None = None,
    changed_since: int | None = None,
):
    return render(
        "tickets/show.html",
        status=status,
        ticket=ticket,
        changed_since=changed_since,
        now=utcnow(),
        next_states=[
            to
            for to in next_states(ticket.state, current_user, ticket.assignee_id, ticket.kind)
            if not (to == TicketState.CLOSED and ticket.kind == TicketKind.COMPLAINT and not called_back(ticket))
        ],
        assign_form=assign_form or (_assign_form(ticket) if may_assign(current_user, ticket) else None),
        comment_form=comment_form or CommentForm(),
        transition_form=TransitionForm(),
        callback_form=callback_form or (CallbackForm() if _callback_due(ticket) else None),
        before_after=_before_after(ticket) if ticket.kind == TicketKind.REWORK else None,
    )


def _changed_since(base_version: int | None, ticket: Ticket) -> bool:
    """The page the person acted on showed an older version (a form without one is from before
    versions were sent: taken as it is)."""
    return base_version is not None and base_version != ticket.version


def _callback_due(ticket: Ticket) -> bool:
    return ticket.kind == TicketKind.COMPLAINT and ticket.state == TicketState.RESOLVED and is_handler(current_user)


def _before_after(ticket: Ticket) -> tuple[list[str], list[str]]:
    """A rework's photos: what the check found, and what the fix and the re-check showed."""
    before, after = [], []
    for event in ticket.events:
        fixed = event.action == "transition" and event.to_state in ("resolved", "closed")
        (after if fixed else before).extend(event.data.get("photos", []))
    return list(dict.fromkeys(before)), list(dict.fromkeys(after))


@bp.route("/<number>/assign", methods=["POST"])
@roles_required(HANDLERS)
def assign(number: str):
    """Give the ticket to a department and a person."""
    ticket = _load(number, for_write=True)
    if not may_assign(current_user, ticket):
        abort(403)
    form = _assign_form(ticket, request.form)
    if not form.validate():
        return _show(ticket, assign_form=form, status=422)
    if _changed_since(form.base_version.data, ticket):
        return _show(ticket, changed_since=form.base_version.data, status=409)
    assignee = db.session.get(User, form.assignee_id.data) if form.assignee_id.data else None
    department = db.session.get(Department, form.department_id.data) if form.department_id.data else None
    try:
        assign_ticket(
            db.session,
            ticket,
            assignee=assignee,
            department=department,
            actor=current_user,
            origin=Origin("web", ip=request.remote_addr),
            now=utcnow(),
            note=form.note.data or "",
        )
    except TransitionRefused:
        db.session.rollback()
        form.assignee_id.errors.append(_("This person does not work at the ticket's site."))
        return _show(ticket, assign_form=form, status=422)
    db.session.commit()
    flash(_("Assigned."))
    return see_other(url_for("tickets.show", number=number))


@bp.route("/<number>/transition", methods=["POST"])
@roles_required(EVERYONE)
def transition(number: str):
    """Move the ticket to another state through the state machine."""
    ticket = _load(number, for_write=True)
    form = TransitionForm()
    if not form.validate():
        abort(400)
    try:
        outcome = transition_ticket(
            db.session,
            ticket,
            TicketState(form.to.data),
            actor=current_user,
            origin=Origin("web", ip=request.remote_addr),
            now=utcnow(),
            note=form.note.data or "",
            base_version=form.base_version.data,
        )
    except TransitionRefused:
        db.session.rollback()
        abort(403)
    if outcome.status == "conflict":
        db.session.rollback()
        return _show(_load(number), changed_since=form.base_version.data, status=409)
    db.session.commit()
    return see_other(url_for("tickets.show", number=number))


@bp.route("/<number>/comment", methods=["POST"])
@roles_required(EVERYONE)
def comment(number: str):
    """Add a comment to the ticket's history."""
    ticket = _load(number, for_write=True)
    form = CommentForm()
    if not form.validate():
        return _show(ticket, comment_form=form, status=422)
    comment_on_ticket(
        db.session,
        ticket,
        text=form.text.data.strip(),
        actor=current_user,
        origin=Origin("web", ip=request.remote_addr),
        now=utcnow(),
    )
    db.session.commit()
    return see_other(url_for("tickets.show", number=number))


@bp.route("/<number>/callback", methods=["POST"])
@roles_required(HANDLERS)
def callback(number: str):
    """Record the call-back of a resolved complaint: satisfied closes it, not satisfied reopens it."""
    ticket = _load(number, for_write=True)
    form = CallbackForm()
    if not _callback_due(ticket):  # closed or reopened meanwhile: say what happened, if we can
        if _changed_since(form.base_version.data, ticket):
            return _show(ticket, changed_since=form.base_version.data, status=409)
        abort(409)
    if not form.validate():
        return _show(ticket, callback_form=form, status=422)
    reached = form.reached.data == "yes"
    record_callback(
        db.session,
        ticket,
        reached=reached,
        satisfied=reached and form.satisfied.data == "yes",
        remark=(form.remark.data or "").strip(),
        actor=current_user,
        origin=Origin("web", ip=request.remote_addr),
        now=utcnow(),
    )
    db.session.commit()
    flash(_("Call-back recorded."))
    return see_other(url_for("tickets.show", number=number))


@bp.route("/places/<int:location_id>")
@roles_required(PLACE_HISTORY)
def timeline(location_id: int):
    """A place's history in one list, filtered by what to show (kept in the URL)."""
    location = db.session.get(Location, location_id) or abort(404)
    require_site(location.site_id)
    shown = set(request.args.getlist("show")) & set(STREAMS) or set(STREAMS)
    return render(
        "tickets/timeline.html",
        location=location,
        shown=shown,
        streams=list(STREAMS),
        entries=place_timeline(db.session, location, shown),
    )


def _due_form(site_id: int, formdata=None) -> Form:
    """One number per kind and priority, filled with what applies now."""

    class DueForm(Form):
        pass

    for kind in TicketKind:
        for priority in Priority:
            setattr(
                DueForm,
                f"h_{kind.value}_{priority.value}",
                IntegerField(
                    f"{kind_label(kind)} · {priority_label(priority)}",
                    validators=[InputRequired(), NumberRange(1, 24 * 90)],
                    default=due_hours_for(db.session, site_id, kind, priority),
                ),
            )
    return DueForm(formdata=formdata)


@bp.route("/due-times", methods=["GET", "POST"])
@roles_required(OFFICE)
def due_times():
    """The hours a site allows for each kind of ticket at each priority."""
    site = db.session.get(Site, request.args.get("site", type=int) or visible_site_ids(current_user)[0]) or abort(404)
    require_site(site.id)
    form = _due_form(site.id, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        for kind in TicketKind:
            for priority in Priority:
                rule = db.session.get(DueRule, (site.id, kind, priority)) or DueRule(
                    site_id=site.id, kind=kind, priority=priority
                )
                rule.hours = form[f"h_{kind.value}_{priority.value}"].data
                db.session.add(rule)
        db.session.commit()
        flash(_("Due times saved; they apply to tickets opened from now on."))
        return see_other(url_for("tickets.due_times", site=site.id))
    return render(
        "tickets/due_times.html",
        form=form,
        site=site,
        kinds=list(TicketKind),
        priorities=list(Priority),
        sites=visible_sites(current_user),
        status=422 if form.errors else 200,
    )
