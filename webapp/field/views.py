"""The field app: today's work and filling in a checklist."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError
from sqlalchemy import func, select
from wtforms import TimeField
from wtforms.validators import Optional

from foundation.base import utcnow
from foundation.notices import Notice, unread
from foundation.org import Location, Origin
from foundation.roles import EVERYONE, FITOUT_INSPECTORS, HANDLERS, Role
from foundation.web_push import PushPreference
from inspections.checklists import ChecklistTemplate, TemplateVersion, current_version, get_template_version
from inspections.fitout import UNDER_WAY, projects_of
from inspections.patrol import PatrolRoute
from inspections.photo_reach import missing_photos
from inspections.records import Assignment, Inspection
from inspections.submission import (
    InspectionSubmission,
    SubmissionRefused,
    check_answers,
    passed,
    submit_inspection,
)
from inspections.today import (
    assignments_due,
    local_day,
    locations_for,
    recent_inspections,
    startable_templates,
)
from tickets.models import Ticket
from webapp.access import require_site, roles_required, visible_sites, visible_tickets
from webapp.downloads import download
from webapp.extensions import db
from webapp.field.checklist_form import answers_by_item, answers_from_form
from webapp.form_rules import Form
from webapp.labels import PUSH_KINDS
from webapp.pages import fresh_in_page, offline_page, render, see_other
from webapp.photos import service as photo_service
from webapp.printouts import inspection_pdf

bp = Blueprint("field", __name__)


@bp.route("/")
@roles_required(EVERYONE)
def home():
    """Start on today's work."""
    return see_other(url_for("field.today"))


@bp.route("/today")
@roles_required(EVERYONE)
@offline_page
def today():
    """Today's assignments (the schedules make them: webapp/jobs.py), what the person may start,
    and their open tickets."""
    now = utcnow()
    sites = []
    for site in visible_sites(current_user):
        templates = startable_templates(db.session, current_user, site)
        day = local_day(site, now)
        sites.append(
            {
                "site": site,
                "day": day,
                "routes": _routes(site),
                "due": assignments_due(db.session, current_user, site, day),
                "startable": [(t, locations_for(db.session, t, site)) for t in templates],
            }
        )
    my_tickets = db.session.scalars(
        visible_tickets(current_user)
        .where(Ticket.assignee_id == current_user.id, Ticket.state != "closed")
        .order_by(Ticket.due_at)
    ).all()
    return render(
        "field/today.html",
        sites=sites,
        my_tickets=my_tickets,
        notices=unread(db.session, current_user),
        recent=recent_inspections(db.session, current_user),
        now=now,
        offline_urls=_offline_urls(sites, my_tickets),
        checklists_revision=_checklists_revision(sites),
    )


def _checklists_revision(sites: list[dict]) -> int:
    """The newest version of the checklists Today lists: a new one makes the phone fetch its kept
    pages again at once, not at its next minute."""
    ids = {due.assignment.template_id for entry in sites for due in entry["due"]}
    ids |= {template.id for entry in sites for template, _ in entry["startable"]}
    newest = select(func.max(TemplateVersion.id)).where(TemplateVersion.template_id.in_(ids))
    return (db.session.scalar(newest) or 0) if ids else 0


def _routes(site) -> list[PatrolRoute]:
    # Guards and the security supervisor walk rounds (the same rule as the walk page's).
    if not (current_user.role == Role.GUARD or current_user.leads("security")):
        return []
    return list(
        db.session.scalars(
            select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active).order_by(PatrolRoute.id)
        )
    )


OFFLINE_PAGES_MAX = 80  # enough for a shift's checklists; a phone is not an archive


def _offline_urls(sites: list[dict], my_tickets: list[Ticket]) -> list[str]:
    """The pages the phone keeps for this person: every checklist they are due or may start."""
    urls = [url_for("field.today"), url_for("tickets.index")]
    for entry in sites:
        for due in entry["due"]:
            a = due.assignment
            urls.append(url_for("field.checklist", template_id=a.template_id, location=a.location_id, assignment=a.id))
        for template, locations in entry["startable"]:
            urls += [url_for("field.checklist", template_id=template.id, location=loc.id) for loc in locations]
        urls += [url_for("patrol.walk", route_id=route.id) for route in entry["routes"]]
    urls += [url_for("tickets.show", number=t.number) for t in my_tickets]
    if current_user.role in FITOUT_INSPECTORS:  # the projects under way, to inspect and sign on site
        urls.append(url_for("fitout.index"))
        urls += [
            url_for("fitout.show", project_id=p.id)
            for p in projects_of(db.session, [e["site"].id for e in sites])
            if p.state in UNDER_WAY
        ]
    return list(dict.fromkeys(urls))[:OFFLINE_PAGES_MAX]


@bp.route("/checklists/<int:template_id>", methods=["GET", "POST"])
@roles_required(EVERYONE)
@offline_page
def checklist(template_id: int):
    """Fill in a checklist at a location; POST with action=review shows the summary, action=submit saves."""
    template = db.session.get(ChecklistTemplate, template_id) or abort(404)
    location = db.session.get(Location, request.values.get("location", type=int) or 0) or abort(404)
    require_site(location.site_id)
    if not template.applies_to_site(location.site_id) or not template.may_be_filled_by(current_user):
        abort(403)
    assignment = _assignment(request.values.get("assignment", type=int), template, location)
    if request.method == "GET":
        # ?version=N: a draft started on version N finishes on it (checklist.js asks for it).
        pinned = request.args.get("version", type=int)
        version = current_version(db.session, template) if pinned is None else None
        version = version or get_template_version(db.session, template.id, pinned) or abort(404)
        # Fresh for the form without scripts; a phone's draft makes its own, so a kept copy
        # with older ones is as good as new (webapp.pages: not part of the page's validator).
        inspection_id, started_at = fresh_in_page(str(uuid.uuid4()), utcnow().isoformat())
        return render(
            "field/checklist.html",
            template=template,
            version=version,
            definition=version.parsed(),
            location=location,
            assignment=assignment,
            inspection_id=inspection_id,
            started_at=started_at,
            answers={},
            errors={},
            summary=None,
        )

    version_number = request.form.get("template_version", type=int)
    version = next((v for v in template.versions if v.version == version_number), None) or abort(400)
    definition = version.parsed()
    answers, item_errors = answers_from_form(
        definition,
        request.form,
        request.files,
        ingest=lambda upload: photo_service.ingest(upload.read(), current_user)[0].sha256,
    )
    errors = {**check_answers(definition, answers), **item_errors}
    context = dict(
        template=template,
        version=version,
        definition=definition,
        location=location,
        assignment=assignment,
        inspection_id=request.form.get("inspection_id", ""),
        started_at=request.form.get("started_at", ""),
        answers=answers_by_item(answers),
        errors=errors,
    )
    if errors or request.form.get("action") != "submit":
        db.session.commit()  # keep photos already uploaded: nothing a person attached is lost
        items = definition.item_map()
        summary = {
            "answered": len(answers),
            "total": len(items),
            "failed": [items[a.item_id] for a in answers if passed(items[a.item_id], a.value) is False],
        }
        return render(
            "field/checklist.html", status=422 if errors else 200, summary=None if errors else summary, **context
        )

    try:
        submission = InspectionSubmission(
            inspection_id=request.form.get("inspection_id", ""),
            template_id=template.id,
            template_version=version.version,
            site_id=location.site_id,
            location_id=location.id,
            assignment_id=assignment.id if assignment else None,
            started_at=request.form.get("started_at", ""),
            finished_at=utcnow(),
            answers=answers,
        )
        submitted = submit_inspection(
            db.session, submission, actor=current_user, origin=Origin("web", ip=request.remote_addr), now=utcnow()
        )
    except (ValidationError, SubmissionRefused):
        db.session.rollback()
        abort(400)
    db.session.commit()
    flash(_("Sent."))
    return see_other(url_for("field.inspection", inspection_id=submitted.inspection.id))


def _assignment(assignment_id: int | None, template: ChecklistTemplate, location: Location) -> Assignment | None:
    if not assignment_id:
        return None
    assignment = db.session.get(Assignment, assignment_id)
    if (
        assignment is None
        or assignment.assignee_id != current_user.id
        or assignment.template_id != template.id
        or assignment.location_id != location.id
    ):
        abort(404)
    return assignment


@bp.route("/inspections/<uuid:inspection_id>")
@roles_required(EVERYONE)
@offline_page
def inspection(inspection_id: uuid.UUID):
    """A submitted inspection with its answers, photos and the tickets it opened."""
    found = _inspection(inspection_id)
    tickets = db.session.scalars(select(Ticket).where(Ticket.inspection_id == found.id).order_by(Ticket.number)).all()
    definition = found.template_version.parsed()
    cited = [photo.photo_sha256 for answer in found.answers for photo in answer.photos]
    return render(
        "field/inspection.html",
        inspection=found,
        definition=definition,
        tickets=tickets,
        now=utcnow(),
        photos_cited=len(set(cited)),
        photos_missing=len(missing_photos(db.session, found.inspector, cited)),
    )


@bp.route("/inspections/<uuid:inspection_id>.pdf")
@roles_required(EVERYONE)
def inspection_printout(inspection_id: uuid.UUID):
    """The inspection on paper: every answer with its photos and signatures."""
    found = _inspection(inspection_id)
    pdf = inspection_pdf(found, found.template_version.parsed(), current_user.display_name, utcnow())
    return download(pdf, "application/pdf", f"inspection-{found.finished_at:%Y%m%d}-{str(found.id)[:8]}.pdf", "inline")


def _inspection(inspection_id: uuid.UUID) -> Inspection:
    """Its inspector and the site's handlers may see an inspection; nobody else learns it exists."""
    found = db.session.get(Inspection, inspection_id) or abort(404)
    require_site(found.site_id)
    if found.inspector_id != current_user.id and current_user.role not in HANDLERS:
        abort(404)
    return found


@bp.route("/notices/<int:notice_id>/read", methods=["POST"])
@roles_required(EVERYONE)
def read_notice(notice_id: int):
    """Mark a notice as seen and go where it points."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.user_id != current_user.id:
        abort(404)
    notice.read_at = utcnow()
    db.session.commit()
    return see_other(notice.link or url_for("field.today"))


class NotificationsForm(Form):
    quiet_start = TimeField(_l("Quiet from"), validators=[Optional()])
    quiet_end = TimeField(_l("Quiet until"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if (self.quiet_start.data is None) != (self.quiet_end.data is None):
            self.quiet_end.errors.append(_("Give both times, or neither for your shifts."))
            return False
        return True


@bp.route("/notifications", methods=["GET", "POST"])
@roles_required(EVERYONE)
def notifications():
    """What of mine is pushed to my phones, and when not: by kind, and quiet hours (without my
    own, the hours outside my shifts)."""
    preference = db.session.get(PushPreference, current_user.id)
    muted = set(preference.muted) if preference else set()
    form = NotificationsForm(obj=preference if request.method == "GET" else None)
    if form.validate_on_submit():
        chosen = set(request.form.getlist("kinds"))
        preference = preference or PushPreference(user_id=current_user.id)
        preference.muted = sorted(
            what for key, (_label, whats) in PUSH_KINDS.items() if key not in chosen for what in whats
        )
        preference.quiet_start, preference.quiet_end = form.quiet_start.data, form.quiet_end.data
        db.session.add(preference)
        db.session.commit()
        flash(_("Saved."))
        return see_other(url_for("field.notifications"))
    kinds = [(key, label, not muted.intersection(whats)) for key, (label, whats) in PUSH_KINDS.items()]
    return render("field/notifications.html", form=form, kinds=kinds, status=422 if form.errors else 200)
