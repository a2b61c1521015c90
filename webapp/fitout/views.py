"""Fit-out supervision (§3.2): projects, today's three inspections, violations with their
rectification notices, acceptances and the deposit ledger."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from foundation.base import utcnow
from foundation.org import Location, LocationKind, Tenant
from foundation.photos import display_name
from foundation.roles import DESK, EVERYONE, FITOUT_INSPECTORS, HANDLERS, OFFICE
from inspections.checklists import ChecklistTemplate, TemplateKind
from inspections.fitout import (
    MANUAL_STEPS,
    AcceptanceKind,
    FitoutProject,
    FitoutRefused,
    FitoutState,
    HotWorkPermit,
    advance,
    charge_penalty,
    inspected_on,
    open_project,
    projects_of,
    refund_deposit,
    signoffs,
    violations,
)
from inspections.today import local_day
from tickets.models import Ticket
from tickets.services import get_ticket_by_number
from webapp import photo_store
from webapp.access import may_see_ticket, require_site, roles_required, visible_site_ids
from webapp.choices import choices
from webapp.downloads import download
from webapp.extensions import db
from webapp.fitout import evidence
from webapp.fitout.forms import PenaltyForm, PermitForm, ProjectForm
from webapp.pages import offline_page, render, see_other
from webapp.photos.views import may_view

bp = Blueprint("fitout", __name__, url_prefix="/fitout")
# The three departments that supervise a fit-out, and the office.


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


@bp.route("")
@roles_required(FITOUT_INSPECTORS)
@offline_page
def index():
    """Fit-out projects at the person's sites, those under way first."""
    return render(
        "fitout/index.html",
        projects=projects_of(db.session, visible_site_ids(current_user)),
        may_register=current_user.role in DESK,
    )


def _project_form(formdata=None) -> ProjectForm:
    form = ProjectForm(formdata=formdata)
    units = db.session.scalars(
        select(Location)
        .where(
            Location.kind == LocationKind.UNIT,
            Location.site_id.in_(visible_site_ids(current_user)),
            Location.archived_at.is_(None),
        )
        .order_by(Location.site_id, Location.name)
    )
    form.unit_id.choices = choices((u.id, f"{u.site.name} · {u.full_name}") for u in units)
    return form


@bp.route("/new", methods=["GET", "POST"])
@roles_required(DESK)
def new():
    """Register a fit-out application (《二次装修申请表》) with its deposit."""
    form = _project_form(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        unit = db.session.get(Location, form.unit_id.data)
        require_site(unit.site_id)
        tenant = db.session.scalar(select(Tenant).where(Tenant.unit_id == unit.id, Tenant.moved_out_on.is_(None)))
        project = open_project(
            db.session,
            site=unit.site,
            unit=unit,
            tenant=tenant,
            contractor=form.contractor.data.strip(),
            permit_number=form.permit_number.data.strip(),
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            drawings_ref=form.drawings_ref.data or "",
            noisy_hours=form.noisy_hours.data or "",
            worker_passes=form.worker_passes.data or 0,
            deposit_cents=cents(form.deposit.data),
            actor=current_user,
        )
        db.session.commit()
        flash(_("Fit-out registered."))
        return see_other(url_for("fitout.show", project_id=project.id))
    return render("fitout/new.html", form=form, status=422 if form.errors else 200)


def _project(project_id: int) -> FitoutProject:
    project = db.session.get(FitoutProject, project_id) or abort(404)
    require_site(project.site_id)
    return project


def _templates(kinds: list[TemplateKind]) -> list[ChecklistTemplate]:
    found = db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.kind.in_(kinds), ChecklistTemplate.active)
        .order_by(ChecklistTemplate.id)
    )
    return [t for t in found if t.may_be_filled_by(current_user)]


def _penalty_form(project: FitoutProject, formdata=None) -> PenaltyForm:
    form = PenaltyForm(formdata=formdata)
    form.violation_id.choices = choices(
        [("", "—")] + [(str(t.id), f"{t.number} {t.title}") for t in violations(db.session, project)]
    )
    return form


@bp.route("/<int:project_id>")
@roles_required(FITOUT_INSPECTORS)
@offline_page
def show(
    project_id: int, penalty_form: PenaltyForm | None = None, permit_form: PermitForm | None = None, status: int = 200
):
    """One project: who has inspected today, violations and their deadlines, acceptances, deposit."""
    project = _project(project_id)
    now = utcnow()
    today = local_day(project.site, now)
    return render(
        "fitout/show.html",
        status=status,
        project=project,
        today=today,
        now=now,
        departments=inspected_on(db.session, project, today),
        violations=violations(db.session, project),
        acceptances=[(kind, signoffs(db.session, project, kind)) for kind in AcceptanceKind],
        daily_templates=_templates([TemplateKind.FITOUT]),
        acceptance_templates={
            t.kind.value: t for t in _templates([TemplateKind.HIDDEN_WORKS, TemplateKind.COMPLETION])
        },
        next_step=MANUAL_STEPS.get(project.state),
        penalty_form=penalty_form or _penalty_form(project),
        permit_form=permit_form or PermitForm(),
        may_run=current_user.role in DESK,
        may_refund=current_user.role in OFFICE,
    )


@bp.route("/<int:project_id>/advance", methods=["POST"])
@roles_required(DESK)
def advance_project(project_id: int):
    """Approve the application, then start the works."""
    project = _project(project_id)
    try:
        advance(project, FitoutState(request.form.get("to", "")))
    except (ValueError, FitoutRefused):
        abort(409)
    db.session.commit()
    return see_other(url_for("fitout.show", project_id=project.id))


@bp.route("/<int:project_id>/penalty", methods=["POST"])
@roles_required(DESK)
def penalty(project_id: int):
    """Dock the deposit for a violation or damage; a line on the ledger."""
    project = _project(project_id)
    form = _penalty_form(project, request.form)
    if not form.validate():
        return show(project_id, penalty_form=form, status=422)
    violation = next((t for t in violations(db.session, project) if str(t.id) == form.violation_id.data), None)
    try:
        charge_penalty(
            db.session,
            project,
            amount_cents=cents(form.amount.data),
            reason=form.reason.data.strip(),
            actor=current_user,
            now=utcnow(),
            violation=violation,
            override=form.override.data,
        )
    except FitoutRefused as refused:
        db.session.rollback()
        form.amount.errors.append(
            _("More than the deposit left: only a manager may charge it, with the override ticked.")
            if refused.code == "over_balance"
            else _("The deposit was refunded already.")
        )
        return show(project_id, penalty_form=_refill(project, form), status=422)
    db.session.commit()
    flash(_("Penalty recorded."))
    return see_other(url_for("fitout.show", project_id=project.id))


def _refill(project: FitoutProject, form: PenaltyForm) -> PenaltyForm:
    form.violation_id.choices = _penalty_form(project).violation_id.choices
    return form


@bp.route("/<int:project_id>/refund", methods=["POST"])
@roles_required(OFFICE)
def refund(project_id: int):
    """Pay back what is left of the deposit after completion acceptance."""
    project = _project(project_id)
    try:
        entry = refund_deposit(db.session, project, actor=current_user, now=utcnow())
    except FitoutRefused:
        abort(409)
    db.session.commit()
    flash(_("Deposit refunded: ¥%(amount)s.", amount=f"{-entry.amount_cents / 100:,.2f}"))
    return see_other(url_for("fitout.show", project_id=project.id))


@bp.route("/<int:project_id>/permits", methods=["POST"])
@roles_required(HANDLERS, supervisor_of="security")  # 保安部办理动火证
def add_permit(project_id: int):
    """Record a hot-work permit (动火证) and its dates."""
    project = _project(project_id)
    form = PermitForm()
    if not form.validate():
        return show(project_id, permit_form=form, status=422)
    project.hot_work_permits.append(
        HotWorkPermit(number=form.number.data.strip(), starts_on=form.starts_on.data, ends_on=form.ends_on.data)
    )
    db.session.commit()
    flash(_("Hot-work permit recorded."))
    return see_other(url_for("fitout.show", project_id=project.id))


def _violation(project: FitoutProject, number: str) -> Ticket:
    ticket = get_ticket_by_number(db.session, number)
    if (
        ticket is None
        or ticket.kind != "violation"
        or ticket.location_id != project.unit_id
        or not may_see_ticket(current_user, ticket)
    ):
        abort(404)
    return ticket


@bp.route("/<int:project_id>/notices/<number>.pdf")
@roles_required(FITOUT_INSPECTORS)
def notice(project_id: int, number: str):
    """The rectification notice to hand to the contractor."""
    project = _project(project_id)
    ticket = _violation(project, number)
    return download(
        evidence.notice_pdf(db.session, project, ticket, current_user.display_name),
        "application/pdf",
        f"notice-{ticket.number}.pdf",
        "inline",
    )


@bp.route("/evidence/<number>/<sha256>.jpg")
@roles_required(EVERYONE)
def stamped(number: str, sha256: str):
    """A ticket's photo with its stamp (time, site, unit, who saw it); the original is untouched."""
    ticket = get_ticket_by_number(db.session, number)
    if (
        ticket is None
        or not may_see_ticket(current_user, ticket)
        or sha256 not in {p.photo_sha256 for p in ticket.photos}
        or not may_view(sha256)
        or not photo_store.store().exists(display_name(sha256))
    ):
        abort(404)
    response = Response(evidence.stamped_photo(db.session, ticket, sha256), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-cache"  # asked again after a logout on a shared phone
    return response
