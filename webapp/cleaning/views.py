"""Cleaning quality (§3.6): the day's board, the monthly score sheet, and the set-up of areas,
shifts, periodic tasks and the scoring rule."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from foundation.base import utcnow
from foundation.org import Location, Site, User
from foundation.roles import HANDLERS, OFFICE, PLANNERS, SCORE_SHEET_READERS, Role
from inspections.cleaning import (
    assign_area,
    board,
    cleaning_areas,
    duties_of,
    rule_for,
    save_rule,
    sheet_for,
    targets_set,
)
from inspections.schedules import add_periodic_task, make_assignments_through, periodic_tasks, task_statuses
from inspections.today import local_day
from webapp.access import require_site, roles_required, visible_sites
from webapp.choices import choices
from webapp.cleaning import report
from webapp.cleaning.forms import DutyForm, RuleForm, TaskForm
from webapp.downloads import XLSX, download
from webapp.extensions import db
from webapp.form_rules import date_in_url
from webapp.pages import render, see_other

bp = Blueprint("cleaning", __name__, url_prefix="/cleaning")


@bp.route("")
@roles_required(HANDLERS, supervisor_of="cleaning")
def index():
    """A day per site (today unless ``?day=``): every area's checks against their targets, latest
    score, open rework, and the month's periodic tasks."""
    now = utcnow()
    sites = []
    for site in visible_sites(current_user):
        today = local_day(site, now)
        day = _day(today)
        sites.append(
            {
                "site": site,
                "day": day,
                "today": today,
                "rule": rule_for(db.session, site.id),
                "targets_set": targets_set(db.session, site.id),
                "areas": board(db.session, site, day),
                "tasks": task_statuses(db.session, site, day, now),
            }
        )
    return render("cleaning/board.html", sites=sites)


def _day(today: date) -> date:
    return date_in_url("day", lambda: today)


def _site() -> Site:
    site_id = request.args.get("site", type=int)
    if site_id is None:
        sites = visible_sites(current_user)
        return sites[0] if sites else abort(404)
    require_site(site_id)
    return db.session.get(Site, site_id) or abort(404)


def _month(site: Site) -> date:
    return date_in_url("month", lambda: local_day(site, utcnow()).replace(day=1), month=True)


def _sheet(site: Site):
    sheet = sheet_for(db.session, site, _month(site), utcnow())
    people = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r.cleaner_id for r in sheet.cleaners])))
    }
    # Every place the month's checks name, archived or since retyped ones too: the sheet is history.
    area_ids = [row.area_id for row in sheet.areas]
    areas = {a.id: a for a in db.session.scalars(select(Location).where(Location.id.in_(area_ids)))}
    return sheet, report.tables(sheet, people, areas)


@bp.route("/scores")
@roles_required(SCORE_SHEET_READERS, supervisor_of="cleaning")
def scores():
    """The month's points per cleaner and figures per area, with the rule that made them."""
    site = _site()
    sheet, tables = _sheet(site)
    return render(
        "cleaning/scores.html",
        site=site,
        sheet=sheet,
        tables=tables,
        rule_lines=report.rule_lines(sheet),
        cell_text=report.cell_text,
        sites=visible_sites(current_user),
    )


@bp.route("/scores.xlsx")
@roles_required(SCORE_SHEET_READERS, supervisor_of="cleaning")
def scores_xlsx():
    """The same sheet as a spreadsheet."""
    site = _site()
    sheet, tables = _sheet(site)
    return download(
        report.xlsx(site, sheet, tables), XLSX, f"cleaning-{site.code}-{sheet.month:%Y-%m}.xlsx", "attachment"
    )


@bp.route("/scores.pdf")
@roles_required(SCORE_SHEET_READERS, supervisor_of="cleaning")
def scores_pdf():
    """The same sheet to print."""
    site = _site()
    sheet, tables = _sheet(site)
    return download(
        report.pdf(site, sheet, tables), "application/pdf", f"cleaning-{site.code}-{sheet.month:%Y-%m}.pdf", "inline"
    )


def _forms(site: Site, formdata=None) -> tuple[RuleForm, DutyForm, TaskForm]:
    rule = rule_for(db.session, site.id)
    rule_form = RuleForm(formdata=formdata, data=rule.model_dump(include=set(RuleForm.NUMBERS)))
    areas = choices((a.id, a.full_name) for a in cleaning_areas(db.session, site.id))
    today = local_day(site, utcnow())
    duty_form = DutyForm(formdata=formdata, data={"starts_on": today})
    duty_form.location_id.choices = areas
    duty_form.cleaner_id.choices = choices(
        (u.id, u.display_name)
        for u in db.session.scalars(
            select(User).where(User.role == Role.CLEANER, User.active).order_by(User.display_name)
        )
        if site.id in u.site_ids
    )
    duty_form.shift.choices = choices((s.code, f"{s.name} {s.start:%H:%M}–{s.end:%H:%M}") for s in rule.shifts)
    task_form = TaskForm(formdata=formdata, data={"starts_on": today})
    task_form.location_id.choices = areas
    task_form.per_month.choices = choices([(0, "—"), (1, "1"), (2, "2"), (4, "4")])
    return rule_form, duty_form, task_form


def _setup(site: Site, forms=None, status: int = 200):
    rule_form, duty_form, task_form = forms or _forms(site)
    day = local_day(site, utcnow())
    tasks = periodic_tasks(db.session, site)
    return render(
        "cleaning/setup.html",
        status=status,
        site=site,
        sites=visible_sites(current_user),
        duties=duties_of(db.session, site.id, on=day),
        tasks=tasks,
        rule=rule_for(db.session, site.id),
        rule_form=rule_form,
        duty_form=duty_form,
        task_form=task_form,
        may_set_rule=current_user.role in OFFICE,
    )


@bp.route("/setup")
@roles_required(PLANNERS, supervisor_of="cleaning")
def setup():
    """Who cleans which area on which shift, the periodic tasks, and the scoring rule."""
    return _setup(_site())


@bp.route("/rule", methods=["POST"])
@roles_required(OFFICE)
def set_rule():
    """Change the site's scoring rule; the sheet shows the new rule at once."""
    site = _site()
    forms = _forms(site, request.form)
    if not forms[0].validate():
        return _setup(site, forms, 422)
    save_rule(db.session, site.id, forms[0].rule(rule_for(db.session, site.id)), current_user, utcnow())
    db.session.commit()
    flash(_("Scoring rule saved."))
    return see_other(url_for("cleaning.setup", site=site.id))


@bp.route("/duties", methods=["POST"])
@roles_required(PLANNERS, supervisor_of="cleaning")
def add_duty():
    """Give an area's shift to a cleaner from a day on."""
    site = _site()
    forms = _forms(site, request.form)
    duty_form = forms[1]
    if not duty_form.validate():
        return _setup(site, forms, 422)
    area = next(a for a in cleaning_areas(db.session, site.id) if a.id == duty_form.location_id.data)
    assign_area(
        db.session,
        area,
        db.session.get(User, duty_form.cleaner_id.data),
        duty_form.shift.data,
        duty_form.starts_on.data,
    )
    db.session.commit()
    flash(_("Area assigned."))
    return see_other(url_for("cleaning.setup", site=site.id))


@bp.route("/tasks", methods=["POST"])
@roles_required(PLANNERS, supervisor_of="cleaning")
def add_task():
    """Add a periodic task (§3.6.6); its windows become assignments as they begin."""
    site = _site()
    forms = _forms(site, request.form)
    task_form = forms[2]
    if not task_form.validate():
        return _setup(site, forms, 422)
    add_periodic_task(
        db.session,
        site,
        location=db.session.get(Location, task_form.location_id.data),
        title=task_form.title.data.strip(),
        per_month=task_form.per_month.data or None,
        every_days=task_form.every_days.data or None,
        starts_on=task_form.starts_on.data,
    )
    make_assignments_through(db.session, site, local_day(site, utcnow()))
    db.session.commit()
    flash(_("Task added."))
    return see_other(url_for("cleaning.setup", site=site.id))
