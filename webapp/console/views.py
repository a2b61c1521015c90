"""The manager's console: open work by department, today's field coverage, the weeks' trend,
and the lists of tickets and inspections with filters kept in the URL and exports of each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from foundation.base import utcnow
from foundation.org import Department, Location, Site, User
from foundation.roles import DESK, OFFICE
from inspections.checklists import ChecklistTemplate, TemplateKind, TemplateVersion
from inspections.coverage import coverage, inspection_weeks
from inspections.photo_reach import inspections_awaiting_photos
from inspections.records import Inspection
from inspections.routing import without_a_person
from sync.changes import HORIZON_LATE_S, horizon_age
from tickets.models import Ticket, TicketKind, is_open_clause
from tickets.states import OPEN_STATES, TicketState
from tickets.stats import open_by_department, ticket_weeks
from webapp import jobs
from webapp.access import roles_required, visible_sites
from webapp.choices import choices
from webapp.console.charts import bar_chart
from webapp.console.forms import InspectionFilters, TicketFilters
from webapp.downloads import csv_download, xlsx_download
from webapp.extensions import db
from webapp.filters import yuan
from webapp.labels import (
    CHECK_LABELS,
    DEPARTMENT_LABELS,
    KIND_LABELS,
    PRIORITY_LABELS,
    STATE_LABELS,
    TEMPLATE_KIND_LABELS,
    _label,
)
from webapp.pages import render

bp = Blueprint("console", __name__, url_prefix="/console")
PAGE = 50
WEEKS = 8


def _sites(site_arg: str) -> list[Site]:
    """The sites the console shows: the one asked for, else every site the person works at."""
    sites = visible_sites(current_user)
    if site_arg:
        sites = [s for s in sites if str(s.id) == site_arg]
        if not sites:
            abort(404)
    return sites


def _site_choices() -> list[tuple[str, str]]:
    return [("", _("All sites"))] + [(str(s.id), s.name) for s in visible_sites(current_user)]


def _chosen_sites(form) -> list[Site]:
    """The sites of a filter form; a site that is not the person's is a form error, not a crash."""
    return _sites(form.site.data if form.site.data in {c.value for c in form.site.choices} else "")


@bp.route("")
@roles_required(DESK)
def dashboard():
    """Open and overdue tickets by department, today's coverage per site, the last weeks."""
    site_arg = request.args.get("site", "")
    sites = _sites(site_arg)
    site_ids = [s.id for s in sites]
    now = utcnow()
    tz = ZoneInfo(sites[0].timezone) if sites else ZoneInfo("Asia/Shanghai")
    week_starts = _week_starts(now, tz)
    weeks = _weeks(site_ids, week_starts)
    labels = [f"{w:%m-%d}" for w in week_starts]
    loads = [load for load in open_by_department(db.session, site_ids, now) if load.open or load.department is not None]
    return render(
        "console/dashboard.html",
        site=site_arg,
        site_choices=_site_choices(),
        now=now,
        loads=loads,
        total=_sum_loads(loads),
        coverage=[coverage(db.session, s, now) for s in sites],
        awaiting_photos=inspections_awaiting_photos(db.session, site_ids),
        may_route=current_user.role in OFFICE,
        nobodys=db.session.scalar(select(func.count()).select_from(Ticket).where(*without_a_person(site_ids))),
        jobs=jobs.statuses(db.session, now) if current_user.role in OFFICE else [],
        horizon_age=horizon_age(db.session) if current_user.role in OFFICE else None,
        horizon_late_s=HORIZON_LATE_S,
        ticket_chart=bar_chart(labels, [(_("New"), weeks["opened"], "a"), (_("Closed"), weeks["closed"], "b")]),
        check_chart=bar_chart(
            labels, [(_("Checks"), weeks["checks"], "a"), (_("With failed items"), weeks["failed"], "c")]
        ),
    )


PAST_WEEKS_KEPT_S = 600


def _weeks(site_ids: list[int], week_starts: list[datetime]) -> dict[str, list[int]]:
    """The weekly series. Finished weeks hardly change (a phone back from a week offline adds a
    few checks), so each worker counts them once per ten minutes; this week is counted every time."""
    cache = current_app.extensions.setdefault("console_past_weeks", {})
    key = (tuple(site_ids), week_starts[0])
    kept = cache.get(key)
    if kept is None or kept[0] < monotonic():
        kept = cache[key] = (monotonic() + PAST_WEEKS_KEPT_S, _count_weeks(site_ids, week_starts[:-1]))
    this_week = _count_weeks(site_ids, week_starts[-1:])
    return {name: kept[1][name] + this_week[name] for name in this_week}


def _count_weeks(site_ids: list[int], week_starts: list[datetime]) -> dict[str, list[int]]:
    tickets = ticket_weeks(db.session, site_ids, week_starts)
    checks, failed = inspection_weeks(db.session, site_ids, week_starts)
    return {"opened": tickets.opened, "closed": tickets.closed, "checks": checks, "failed": failed}


def _week_starts(now: datetime, tz: ZoneInfo) -> list[datetime]:
    """Mondays, midnight in the site's zone: the last WEEKS weeks up to this one."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return [datetime.combine(monday - timedelta(weeks=n), time(), tz) for n in range(WEEKS - 1, -1, -1)]


def _sum_loads(loads) -> dict:
    states = [s for s in TicketState if s in OPEN_STATES]
    return {
        "by_state": {s: sum(l.by_state[s] for l in loads) for s in states},
        "open": sum(l.open for l in loads),
        "overdue": sum(l.overdue for l in loads),
        "awaiting_callback": sum(l.awaiting_callback for l in loads),
    }


# --- tickets -------------------------------------------------------------------------------------


def _ticket_filters() -> tuple[TicketFilters, list[Site]]:
    form = TicketFilters(request.args)
    form.site.choices = choices(_site_choices())
    form.kind.choices = choices([("", _("All"))] + [(k.value, _label(KIND_LABELS, k)) for k in TicketKind])
    form.state.choices = choices(
        [("open", _("Open")), ("overdue", _("Overdue")), ("callback", _("Awaiting call-back"))]
        + [("unassigned", _("Failures nobody has"))]
        + [(s.value, _label(STATE_LABELS, s)) for s in TicketState]
        + [("all", _("All"))]
    )
    form.department.choices = choices(
        [("", _("All")), ("none", _("No department"))]
        + [
            (str(d.id), _label(DEPARTMENT_LABELS, d.code))
            for d in db.session.scalars(select(Department).order_by(Department.id))
        ]
    )
    return form, _chosen_sites(form)


def _ticket_query(form: TicketFilters, sites: list[Site], now: datetime) -> Select:
    query = select(Ticket).where(Ticket.site_id.in_([s.id for s in sites]))
    state = form.state.data
    if state == "open":
        query = query.where(is_open_clause())
    elif state == "overdue":
        query = query.where(is_open_clause(), Ticket.state != TicketState.RESOLVED.value, Ticket.due_at < now)
    elif state == "unassigned":
        query = query.where(*without_a_person([s.id for s in sites]))
    elif state == "callback":
        query = query.where(Ticket.kind == TicketKind.COMPLAINT.value, Ticket.state == TicketState.RESOLVED.value)
    elif state != "all":
        query = query.where(Ticket.state == state)
    if form.kind.data:
        query = query.where(Ticket.kind == form.kind.data)
    if form.department.data == "none":
        query = query.where(Ticket.department_id.is_(None))
    elif form.department.data:
        query = query.where(Ticket.department_id == int(form.department.data))
    query = query.where(*_between(Ticket.created_at, form, sites))
    if form.q.data:
        words = f"%{form.q.data.strip()}%"
        query = query.where(
            or_(
                Ticket.number.ilike(words),
                Ticket.title.ilike(words),
                Ticket.contact_name.ilike(words),
                Ticket.contact_phone.ilike(words),
            )
        )
    if state in ("open", "overdue"):
        return query.order_by(Ticket.due_at, Ticket.number)
    return query.order_by(Ticket.created_at.desc(), Ticket.number.desc())


def _between(column, form, sites: list[Site]) -> list:
    """From/to are days in the site's zone, both included."""
    tz = ZoneInfo(sites[0].timezone) if sites else ZoneInfo("Asia/Shanghai")
    where = []
    if form.since.data:
        where.append(column >= datetime.combine(form.since.data, time(), tz))
    if form.until.data:
        where.append(column < datetime.combine(form.until.data + timedelta(days=1), time(), tz))
    return where


@bp.route("/tickets")
@roles_required(DESK)
def tickets():
    form, sites = _ticket_filters()
    if not form.validate():
        return render("console/tickets.html", form=form, tickets=[], total=0, page=1, pages=1, now=utcnow(), status=422)
    now = utcnow()
    query = _ticket_query(form, sites, now)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // PAGE))
    page = min(form.page.data or 1, pages)
    found = db.session.scalars(
        query.options(
            joinedload(Ticket.site),
            joinedload(Ticket.location).joinedload(Location.parent),
            joinedload(Ticket.department),
            joinedload(Ticket.assignee),
        )
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render("console/tickets.html", form=form, tickets=found, total=total, page=page, pages=pages, now=now)


TICKET_COLUMNS = (
    _l("Number"),
    _l("Kind"),
    _l("State"),
    _l("Overdue"),
    _l("Priority"),
    _l("Site"),
    _l("Where"),
    _l("Title"),
    _l("Department"),
    _l("Assignee"),
    _l("Customer"),
    _l("Contact"),
    _l("Phone"),
    _l("Paid service"),
    _l("Opened"),
    _l("Due"),
    _l("Closed"),
)


@bp.route("/tickets.<any(csv, xlsx):fmt>")
@roles_required(DESK)
def tickets_export(fmt: str):
    """The list as filtered, every row of it (not one page), as CSV or XLSX."""
    form, sites = _ticket_filters()
    if not form.validate():
        abort(400)
    now = utcnow()
    query = _ticket_query(form, sites, now).options(
        joinedload(Ticket.site),
        joinedload(Ticket.location),
        joinedload(Ticket.department),
        joinedload(Ticket.assignee),
        joinedload(Ticket.tenant),
    )

    def rows() -> Iterator[list]:
        for t in db.session.scalars(query.execution_options(yield_per=500)):
            tz = ZoneInfo(t.site.timezone)
            yield [
                t.number,
                _label(KIND_LABELS, t.kind),
                _label(STATE_LABELS, t.state),
                _("Yes") if t.is_overdue(now) else "",
                _label(PRIORITY_LABELS, t.priority),
                t.site.name,
                t.location.full_name if t.location else "",
                t.title,
                _label(DEPARTMENT_LABELS, t.department.code) if t.department else "",
                t.assignee.display_name if t.assignee else "",
                t.tenant.name if t.tenant else "",
                t.contact_name,
                t.contact_phone,
                yuan(t.price_cents) if t.price_cents else "",
                _when(t.created_at, tz),
                _when(t.due_at, tz),
                _when(t.closed_at, tz),
            ]

    return _export(fmt, f"tickets-{date.today():%Y%m%d}", _("Tickets"), [str(c) for c in TICKET_COLUMNS], rows())


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if moment else ""


def _export(fmt: str, name: str, title: str, header: list[str], rows):
    if fmt == "csv":
        return csv_download(f"{name}.csv", header, rows)
    return xlsx_download(f"{name}.xlsx", title, header, rows)


# --- inspections ---------------------------------------------------------------------------------


def _inspection_filters() -> tuple[InspectionFilters, list[Site]]:
    form = InspectionFilters(request.args)
    form.site.choices = choices(_site_choices())
    form.kind.choices = choices([("", _("All"))] + [(k.value, _label(TEMPLATE_KIND_LABELS, k)) for k in TemplateKind])
    form.result.choices = choices([("", _("All")), ("failed", _("Failed items")), ("passed", _("All passed"))])
    return form, _chosen_sites(form)


def _inspection_query(form: InspectionFilters, sites: list[Site]) -> Select:
    inspector, place = aliased(User), aliased(Location)
    query = (
        select(Inspection, ChecklistTemplate.title, ChecklistTemplate.kind)
        .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
        .join(ChecklistTemplate, TemplateVersion.template_id == ChecklistTemplate.id)
        .where(Inspection.site_id.in_([s.id for s in sites]), *_between(Inspection.finished_at, form, sites))
    )
    if form.kind.data:
        query = query.where(ChecklistTemplate.kind == form.kind.data)
    if form.result.data == "failed":
        query = query.where(Inspection.failed_count > 0)
    elif form.result.data == "passed":
        query = query.where(Inspection.failed_count == 0)
    if form.q.data:
        words = f"%{form.q.data.strip()}%"
        query = (
            query.join(inspector, Inspection.inspector_id == inspector.id)
            .join(place, Inspection.location_id == place.id)
            .where(
                or_(inspector.display_name.ilike(words), place.name.ilike(words), ChecklistTemplate.title.ilike(words))
            )
        )
    return query.order_by(Inspection.finished_at.desc(), Inspection.id)


@bp.route("/inspections")
@roles_required(DESK)
def inspections():
    form, sites = _inspection_filters()
    if not form.validate():
        return render("console/inspections.html", form=form, rows=[], total=0, page=1, pages=1, status=422)
    query = _inspection_query(form, sites)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // PAGE))
    page = min(form.page.data or 1, pages)
    rows = db.session.execute(
        query.options(joinedload(Inspection.site), joinedload(Inspection.location), joinedload(Inspection.inspector))
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    return render("console/inspections.html", form=form, rows=rows, total=total, page=page, pages=pages)


INSPECTION_COLUMNS = (
    _l("Finished"),
    _l("Site"),
    _l("Where"),
    _l("Checklist"),
    _l("Kind"),
    _l("Check"),
    _l("Inspector"),
    _l("Score"),
    _l("Failed items"),
)


@bp.route("/inspections.<any(csv, xlsx):fmt>")
@roles_required(DESK)
def inspections_export(fmt: str):
    form, sites = _inspection_filters()
    if not form.validate():
        abort(400)
    query = _inspection_query(form, sites).options(
        joinedload(Inspection.site), joinedload(Inspection.location), joinedload(Inspection.inspector)
    )

    def rows() -> Iterator[list]:
        for inspection, title, kind in db.session.execute(query.execution_options(yield_per=500)):
            yield [
                _when(inspection.finished_at, ZoneInfo(inspection.site.timezone)),
                inspection.site.name,
                inspection.location.full_name,
                title,
                _label(TEMPLATE_KIND_LABELS, kind),
                _label(CHECK_LABELS, inspection.check_kind) if inspection.check_kind else "",
                inspection.inspector.display_name,
                inspection.score,
                inspection.failed_count,
            ]

    return _export(
        fmt, f"inspections-{date.today():%Y%m%d}", _("Inspections"), [str(c) for c in INSPECTION_COLUMNS], rows()
    )
