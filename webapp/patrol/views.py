"""Patrol rounds: the supervisor's timeline and the guard's walk."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from inspections.base import utcnow
from inspections.org import Role
from inspections.patrol import PatrolRoute
from inspections.patrol_board import current_night, route_night, site_night
from inspections.rounds import RoundStatus, Schedule
from webapp.access import require_site, roles_required, visible_sites
from webapp.extensions import db
from webapp.pages import offline_page, render

bp = Blueprint("patrol", __name__, url_prefix="/patrol")
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
WALKERS = frozenset({Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})


def _day(site) -> date:
    raw = request.args.get("day", "")
    route = db.session.scalar(select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active))
    schedule = Schedule.from_json(route.schedule) if route else None
    try:
        return date.fromisoformat(raw) if raw else current_night(site, utcnow(), schedule)
    except ValueError:
        abort(400)


@bp.route("")
@roles_required(SUPERVISORS)
def board():
    """Tonight's rounds per site on a timeline: missed and late checkpoints stand out."""
    now = utcnow()
    nights = []
    for site in visible_sites(current_user):
        day = _day(site)
        nights.append((site, day, site_night(db.session, site, day, now)))
    return render("patrol/board.html", nights=nights, now=now)


@bp.route("/routes/<int:route_id>/walk")
@roles_required(WALKERS)
@offline_page
def walk(route_id: int):
    """The guard's route on the phone: what is done, what is next, and the code to type or scan."""
    route = db.session.get(PatrolRoute, route_id) or abort(404)
    require_site(route.site_id)
    now = utcnow()
    night = route_night(db.session, route, current_night(route.site, now, Schedule.from_json(route.schedule)), now)
    current = next((r for r in night.rounds if r.status in (RoundStatus.IN_PROGRESS, RoundStatus.UPCOMING)), None)
    route_data = {
        "route_id": route.id,
        "round_opens_at": current.opens_at.isoformat() if current else None,
        "checkpoints": [{"id": stop.location_id, "code": stop.location.qr_code,
                         "checklist_url": url_for("field.checklist", template_id=stop.template_id,
                                                  location=stop.location_id) if stop.template_id else None}
                        for stop in route.checkpoints],
        "done_label": _("Done"), "waiting_label": _("Waiting to send"),
    }
    return render("patrol/walk.html", route=route, current=current, now=now, route_data=route_data)
