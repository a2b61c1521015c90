"""管理 → 排班与计划: schedules of recurring inspections, and the calendar of what they made due."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from foundation.base import utcnow
from foundation.org import Site, User, user_site
from foundation.places import CLEANING_AREA_TYPES, site_tree
from foundation.roles import PLANNERS, Role
from inspections.checklists import ChecklistTemplate, TemplateKind
from inspections.schedules import (
    Rule,
    Schedule,
    ScheduleRefused,
    Status,
    Who,
    check_schedule,
    make_assignments_through,
    month_calendar,
    occurrences_between,
    planned_between,
)
from inspections.today import local_day
from webapp.access import require_site, roles_required, visible_sites
from webapp.choices import choices
from webapp.extensions import db
from webapp.form_rules import Form, date_in_url
from webapp.labels import (
    AREA_TYPE_LABELS,
    ROLE_LABELS,
    SCHEDULE_RULE_LABELS,
    SCHEDULE_WHO_LABELS,
    WEEKDAY_LABELS,
)
from webapp.pages import render, see_other
from webapp.schedules.forms import ScheduleForm

bp = Blueprint("schedules", __name__, url_prefix="/schedules")


@bp.route("", methods=["GET", "POST"])
@roles_required(PLANNERS)
def index():
    """A site's schedules, and a form to add one."""
    site = _site()
    form = _form(site)
    if form.validate_on_submit():
        kind, _sep, value = form.place.data.partition(":")
        schedule = Schedule(
            site_id=site.id,
            template_id=form.template_id.data,
            location_id=int(value) if kind == "place" else None,
            area_type=value if kind == "type" else None,
            title=(form.title.data or "").strip(),
            who=Who(form.who.data),
            assignee_id=form.assignee_id.data if form.who.data == "person" else None,
            role=Role(form.role.data) if form.who.data == "role" else None,
            rule=Rule(form.rule.data),
            times=form.time_list() if form.rule.data in ("daily", "weekly") else [],
            weekdays=form.weekdays.data if form.rule.data == "weekly" else [],
            per_month=form.per_month.data if form.rule.data == "monthly" else None,
            every_days=form.every_days.data if form.rule.data == "every_n_days" else None,
            window_minutes=form.window_minutes.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
        )
        try:
            check_schedule(schedule)
        except ScheduleRefused:
            form.place.errors.append(_("Choose one place or one type of area."))
        else:
            db.session.add(schedule)
            db.session.flush()
            made = make_assignments_through(db.session, site, local_day(site, utcnow()))
            db.session.commit()
            flash(_("Schedule added; %(n)s assignments are due so far.", n=made))
            return see_other(url_for("schedules.index", site=site.id))
    schedules = db.session.scalars(
        select(Schedule).where(Schedule.site_id == site.id, Schedule.active).order_by(Schedule.id)
    ).all()
    return render(
        "schedules/index.html",
        site=site,
        sites=visible_sites(current_user),
        schedules=schedules,
        form=form,
        stop_form=Form(),
        status=422 if form.errors else 200,
    )


@bp.route("/<int:schedule_id>/stop", methods=["POST"])
@roles_required(PLANNERS)
def stop(schedule_id: int):
    """No more assignments from this schedule; those it made stay, with their records."""
    schedule = db.session.get(Schedule, schedule_id) or abort(404)
    require_site(schedule.site_id)
    if not Form().validate_on_submit():
        abort(400)
    schedule.active = False
    db.session.commit()
    flash(_("Schedule stopped; what it made due before stays."))
    return see_other(url_for("schedules.index", site=schedule.site_id))


@bp.route("/calendar")
@roles_required(PLANNERS)
def month():
    """A month of a site: per day, what was done, late, missed or is due; for one person or place too."""
    site = _site()
    now = utcnow()
    month_start = date_in_url("month", lambda: local_day(site, now).replace(day=1), month=True)
    person_id = request.args.get("person", type=int)
    place_id = request.args.get("place", type=int)
    days = month_calendar(db.session, site, month_start, now, assignee_id=person_id, location_id=place_id)
    day = date_in_url("day", lambda: None) if request.args.get("day") else None
    chosen = (
        occurrences_between(db.session, site, day, day, now, assignee_id=person_id, location_id=place_id) if day else []
    )
    planned = (
        planned_between(db.session, site, day, day, assignee_id=person_id, location_id=place_id)
        if day and day > local_day(site, now)
        else []
    )
    return render(
        "schedules/calendar.html",
        site=site,
        sites=visible_sites(current_user),
        month=month_start,
        days=days,
        chosen=chosen,
        planned=planned,
        names=_names({p.assignee_id for p in planned}),
        chosen_day=day.isoformat() if day else None,
        statuses=list(Status),
        people=_people(site),
        places=[p for p, _ in site_tree(db.session, site, archived=False)],
        person_id=person_id,
        place_id=place_id,
        today=local_day(site, now),
        previous=(month_start - timedelta(days=1)).strftime("%Y-%m"),
        following=(month_start.replace(day=28) + timedelta(days=4)).strftime("%Y-%m"),
    )


def _names(person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(person_ids))).all())


def _site() -> Site:
    sites = visible_sites(current_user)
    if not sites:
        abort(404)
    site_id = request.args.get("site", type=int) or sites[0].id
    site = db.session.get(Site, site_id) or abort(404)
    require_site(site.id)
    return site


def _people(site: Site) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(user_site)
            .where(user_site.c.site_id == site.id, User.active)
            .order_by(User.role, User.display_name)
        )
    )


def _form(site: Site) -> ScheduleForm:
    form = ScheduleForm()
    templates = db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.active, (ChecklistTemplate.site_id.is_(None)) | (ChecklistTemplate.site_id == site.id))
        .where(ChecklistTemplate.kind != TemplateKind.CLEANING_TASK)
        .order_by(ChecklistTemplate.kind, ChecklistTemplate.id)
    )
    form.template_id.choices = choices((t.id, t.title) for t in templates)
    places = [(f"type:{a}", _("Every %(type)s area", type=AREA_TYPE_LABELS[a])) for a in CLEANING_AREA_TYPES]
    places += [(f"place:{p.id}", p.full_name) for p, _depth in site_tree(db.session, site, archived=False)]
    form.place.choices = choices(places)
    form.who.choices = choices((w.value, SCHEDULE_WHO_LABELS[w.value]) for w in Who)
    form.assignee_id.choices = choices(
        [(0, "—")] + [(p.id, f"{p.display_name} · {ROLE_LABELS[p.role]}") for p in _people(site)]
    )
    form.role.choices = choices([("", "—")] + [(r.value, ROLE_LABELS[r]) for r in Role if r != Role.ADMIN])
    form.rule.choices = choices((r.value, SCHEDULE_RULE_LABELS[r.value]) for r in Rule)
    form.weekdays.choices = choices((n, WEEKDAY_LABELS[n]) for n in range(7))
    if request.method == "GET" and form.starts_on.data is None:
        form.starts_on.data = local_day(site, utcnow())
    return form
