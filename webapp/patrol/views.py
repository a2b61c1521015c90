"""Patrol rounds: the supervisor's timeline and the guard's walk."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from foundation.base import utcnow
from foundation.org import Location, LocationKind, User
from foundation.roles import PATROL, PLANNERS, Role
from inspections.checklists import ChecklistTemplate
from inspections.patrol import (
    PatrolRoute,
    add_checkpoint,
    add_existing_checkpoint,
    create_route,
    move_checkpoint,
    rotate_checkpoint_code,
)
from inspections.patrol_board import current_night, guard_week, route_night, site_night
from inspections.rounds import RoundStatus, Schedule
from webapp.access import require_site, roles_required, visible_sites
from webapp.choices import choices
from webapp.downloads import download
from webapp.extensions import db
from webapp.form_rules import date_in_url
from webapp.pages import offline_page, render, see_other
from webapp.patrol import codes as patrol_codes
from webapp.patrol.codes import qr_svg
from webapp.patrol.forms import CheckpointForm, ExistingCheckpointForm, RouteForm

bp = Blueprint("patrol", __name__, url_prefix="/patrol")


def _day(site) -> date:
    route = db.session.scalar(select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active))
    schedule = Schedule.from_json(route.schedule) if route else None
    return date_in_url("day", lambda: current_night(site, utcnow(), schedule))


@bp.route("")
@roles_required(PLANNERS, supervisor_of="security")
def board():
    """Tonight's rounds per site on a timeline: missed and late checkpoints stand out."""
    now = utcnow()
    nights = []
    for site in visible_sites(current_user):
        day = _day(site)
        guards = [
            u
            for u in db.session.scalars(
                select(User).where(User.role == Role.GUARD, User.active).order_by(User.display_name)
            )
            if site.id in u.site_ids
        ]
        nights.append((site, day, site_night(db.session, site, day, now), guards))
    return render("patrol/board.html", nights=nights, now=now)


@bp.route("/routes/<int:route_id>/walk")
@roles_required(PATROL, supervisor_of="security")
@offline_page
def walk(route_id: int):
    """The guard's route on the phone: what is done, what is next, and the code to type or scan."""
    route = _route(route_id)
    now = utcnow()
    night = route_night(db.session, route, current_night(route.site, now, Schedule.from_json(route.schedule)), now)
    current = next((r for r in night.rounds if r.status in (RoundStatus.IN_PROGRESS, RoundStatus.UPCOMING)), None)
    route_data = {
        "route_id": route.id,
        "site_id": route.site_id,
        "route_name": route.name,
        "round_opens_at": current.opens_at.isoformat() if current else None,
        "checkpoints": [
            {
                "id": stop.location_id,
                "code": stop.location.qr_code,
                "checklist_url": url_for("field.checklist", template_id=stop.template_id, location=stop.location_id)
                if stop.template_id
                else None,
            }
            for stop in route.stops
        ],
        "done_label": _("Done"),
        "waiting_label": _("Waiting to send"),
        "incident_place": _("Incident report"),
        "next_label": _("Next"),
    }
    return render("patrol/walk.html", route=route, current=current, now=now, route_data=route_data)


@bp.route("/routes/<int:route_id>/codes")
@roles_required(PLANNERS, supervisor_of="security")
def codes(route_id: int):
    """Every checkpoint's QR code with its name and place, to print and stick on the wall."""
    route = _route(route_id)
    return render("patrol/codes.html", route=route, qr_svg=qr_svg)


@bp.route("/routes/<int:route_id>/codes.pdf")
@roles_required(PLANNERS, supervisor_of="security")
def codes_pdf(route_id: int):
    """The same codes as a PDF, four to an A4 page."""
    route = _route(route_id)
    return download(patrol_codes.codes_pdf(route), "application/pdf", f"route-{route.id}-codes.pdf", "inline")


@bp.route("/routes/<int:route_id>/checkpoints/<int:location_id>/rotate", methods=["POST"])
@roles_required(PLANNERS, supervisor_of="security")
def rotate(route_id: int, location_id: int):
    """Print a lost label again with a new code; the old code stops working."""
    route = _route(route_id)
    stop = next((s for s in route.checkpoints if s.location_id == location_id), None) or abort(404)
    code = rotate_checkpoint_code(db.session, stop.location, actor=current_user)
    db.session.commit()
    flash(_("New code for %(name)s: %(code)s. Print it and replace the label.", name=stop.location.name, code=code))
    return see_other(url_for("patrol.codes", route_id=route.id))


def _route(route_id: int) -> PatrolRoute:
    route = db.session.get(PatrolRoute, route_id) or abort(404)
    require_site(route.site_id)
    return route


@bp.route("/routes", methods=["GET", "POST"])
@roles_required(PLANNERS, supervisor_of="security")
def routes():
    """The routes of the person's sites, and a form to add one."""
    form = RouteForm()
    sites = visible_sites(current_user)
    if form.validate_on_submit():
        site = next(s for s in sites if s.id == request.form.get("site_id", type=int)) if len(sites) > 1 else sites[0]
        route = create_route(
            db.session, site=site, name=form.name.data.strip(), schedule=form.schedule(), actor=current_user
        )
        db.session.commit()
        return see_other(url_for("patrol.edit", route_id=route.id))
    found = db.session.scalars(
        select(PatrolRoute)
        .where(PatrolRoute.site_id.in_([s.id for s in sites]))
        .order_by(PatrolRoute.site_id, PatrolRoute.id)
    ).all()
    return render("patrol/routes.html", routes=found, form=form, sites=sites, status=422 if form.errors else 200)


@bp.route("/routes/<int:route_id>", methods=["GET", "POST"])
@roles_required(PLANNERS, supervisor_of="security")
def edit(route_id: int):
    """A route's schedule and its checkpoints in walking order."""
    route = _route(route_id)
    form = RouteForm(obj=None, data={"name": route.name, **route.schedule}) if request.method == "GET" else RouteForm()
    checkpoint_form = CheckpointForm(prefix="cp")
    floors = db.session.scalars(
        select(Location)
        .where(Location.site_id == route.site_id, Location.kind == LocationKind.FLOOR, Location.archived_at.is_(None))
        .order_by(Location.id)
    ).all()
    checkpoint_form.floor_id.choices = choices([(0, "—")] + [(f.id, f.name) for f in floors])
    on_route = {stop.location_id for stop in route.checkpoints}
    existing = [
        c
        for c in db.session.scalars(
            select(Location)
            .where(
                Location.site_id == route.site_id,
                Location.kind == LocationKind.CHECKPOINT,
                Location.archived_at.is_(None),
            )
            .order_by(Location.id)
        )
        if c.id not in on_route
    ]
    existing_form = ExistingCheckpointForm(prefix="ex")
    existing_form.location_id.choices = choices((c.id, c.full_name) for c in existing)
    action = request.form.get("action")
    if action == "schedule" and form.validate_on_submit():
        route.name, route.schedule = form.name.data.strip(), form.schedule()
        db.session.commit()
        flash(_("Saved."))
        return see_other(url_for("patrol.edit", route_id=route.id))
    if action == "checkpoint" and checkpoint_form.validate_on_submit():
        template = _patrol_template()
        floor = db.session.get(Location, checkpoint_form.floor_id.data) if checkpoint_form.floor_id.data else None
        add_checkpoint(
            db.session,
            route,
            name=checkpoint_form.name.data.strip(),
            floor=floor,
            template=template,
            actor=current_user,
        )
        db.session.commit()
        return see_other(url_for("patrol.edit", route_id=route.id))
    if action == "existing" and existing_form.validate_on_submit():
        add_existing_checkpoint(
            db.session,
            route,
            db.session.get(Location, existing_form.location_id.data),
            template=_patrol_template(),
            actor=current_user,
        )
        db.session.commit()
        return see_other(url_for("patrol.edit", route_id=route.id))
    if action in ("up", "down"):
        move_checkpoint(db.session, route, request.form.get("location_id", type=int), -1 if action == "up" else 1)
        db.session.commit()
        return see_other(url_for("patrol.edit", route_id=route.id))
    failed = bool(form.errors or checkpoint_form.errors or existing_form.errors)
    return render(
        "patrol/edit.html",
        route=route,
        form=form,
        checkpoint_form=checkpoint_form,
        existing_form=existing_form,
        status=422 if failed else 200,
    )


def _patrol_template() -> ChecklistTemplate | None:
    return db.session.scalar(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.kind == "patrol", ChecklistTemplate.active)
        .order_by(ChecklistTemplate.id)
    )


@bp.route("/guards/<int:user_id>")
@roles_required(PLANNERS, supervisor_of="security")
def guard(user_id: int):
    """A guard's week: every round of their routes, and which of its scans were theirs."""
    person = db.session.get(User, user_id) or abort(404)
    if person.role != Role.GUARD or not any(current_user.may_see_site(s) for s in person.site_ids):
        abort(404)
    now = utcnow()
    start = date_in_url("week", lambda: current_night(person.sites[0], now))
    monday = start - timedelta(days=start.weekday())
    return render("patrol/guard.html", person=person, monday=monday, week=guard_week(db.session, person, monday, now))
