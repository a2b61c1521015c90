"""Submitting a filled checklist: one shape and one code path for the web form and the sync push.

The shape is SYNC.md's ``inspection.submit`` payload. The form builds it from its fields, the
sync endpoint receives it as JSON, and both call ``submit_inspection``.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from foundation.base import hold_lock
from foundation.org import Department, Location, Origin, Site, User
from foundation.photos import Sha256
from foundation.roles import OFFICE
from foundation.text import LINE_PATTERN, TextRefused, check_text, text_of
from inspections.checklists import (
    ChecklistTemplate,
    Definition,
    Item,
    TemplateVersion,
    get_template_version,
)
from inspections.cleaning import CheckKind
from inspections.fitout import FitoutRefused
from inspections.records import Answer, AnswerPhoto, Assignment, Inspection
from inspections.routing import route_failure
from inspections.workflows import workflow_of
from tickets.models import Priority, Ticket, TicketKind
from tickets.services import close_by_recheck, open_ticket, report_again
from tickets.states import OPEN_STATES

log = logging.getLogger(__name__)


def _rfc3339_text(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):
        raise ValueError("a time is an RFC 3339 string with an offset")
    return value


# A time as SYNC.md writes it: RFC 3339 text with an offset (not a number, not a naive time).
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
CLOCK_FLAG_MS = 5 * 60 * 1000  # a device clock off by more than five minutes is flagged


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # A checklist's key, never typed by a person (an unknown one is refused by name): the line
    # rule as its published pattern, checked natively (a Python check per answer was a tenth of
    # validating a pushed batch).
    item_id: Annotated[str, Field(min_length=1, max_length=40, pattern=LINE_PATTERN)]
    value: Any = None
    note: text_of(2000) = ""
    # A tuple: no list made for each of a batch's thousands of answers (they have none), and
    # fewer objects for the garbage collector to walk.
    photos: Annotated[tuple[Sha256, ...], Field(max_length=20)] = ()


class Geo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(ge=0)] | None = None


# Why a record carries no position: the person said no, or the phone could not tell.
GeoStatus = Literal["denied", "unavailable"]


def where(payload) -> dict | None:
    """What a record keeps of its position: ``{lat, lon, accuracy_m}``, or why there is none
    (``{"status": "denied"}``), or None from a client that says nothing."""
    if payload.geo is not None:
        return payload.geo.model_dump()
    return {"status": payload.geo_status} if payload.geo_status else None


class InspectionSubmission(BaseModel):
    """SYNC.md ``inspection.submit``."""

    model_config = ConfigDict(extra="forbid")
    inspection_id: uuid.UUID
    template_id: int
    template_version: Annotated[int, Field(ge=1)]
    site_id: int
    location_id: int
    assignment_id: int | None = None
    started_at: Timestamp
    finished_at: Timestamp
    answers: Annotated[list[AnswerIn], Field(max_length=500)]
    geo: Geo | None = None
    geo_status: GeoStatus | None = None
    corrects_inspection_id: uuid.UUID | None = None  # a correction names what it corrects


class SubmissionRefused(Exception):
    """The submission is not valid; nothing of it was stored.

    ``item_errors`` maps an item id to an error code (see ``answer_error``)."""

    def __init__(self, code: str, message: str, item_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.item_errors = item_errors or {}


@dataclass
class Submitted:
    inspection: Inspection
    created: bool  # False: this inspection id was submitted before, nothing changed
    tickets: list[Ticket] = field(default_factory=list)


def answer_error(item: Item, answer: AnswerIn | None) -> str | None:
    """The error code for one answer, or None when it is acceptable."""
    value = None if answer is None else answer.value
    photos = () if answer is None else answer.photos
    if value is None or value == "" or value == []:
        if item.type == "photo" and photos:
            return None
        return "required" if item.required else None
    match item.type:
        case "pass_fail":
            if value not in ("pass", "fail", "na"):
                return "bad_value"
            if value == "na" and item.required and not item.allows_na:
                return "required"
        case "yes_no":
            if value not in ("yes", "no"):
                return "bad_value"
        case "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return "not_a_number"
            if item.min is not None and value < item.min:
                return "below_min"
            if item.max is not None and value > item.max:
                return "above_max"
        case "text":
            if not isinstance(value, str) or len(value) > 4000:
                return "bad_value"
            try:
                check_text(value)
            except TextRefused as refused:
                return refused.code
        case "choice":
            if value not in item.choices:
                return "bad_choice"
        case "photo" | "signature":
            if not (isinstance(value, str) and len(value) == 64 and value in photos):
                return "bad_value"
    if item.photo_on_fail and not photos and passed(item, value) is False:
        return "photo_required"
    return None


@dataclass
class JudgedAnswers:
    answers: list[AnswerIn]  # the ones that count, in the checklist's order
    grades: list[bool | None]  # each one's ``passed``
    errors: dict[str, str]  # every problem, by item id; empty when they may be submitted
    score: float | None  # weighted share of the graded ones passed, 0–100; None when none grades


def judge_answers(definition: Definition, answers: list[AnswerIn]) -> JudgedAnswers:
    """The answers that count, what each says and what is wrong, in one pass. An answer to an
    instruction, or to an item its show-if hides, is ignored (SYNC.md v1.1), so a device that
    knows neither still submits valid answers."""
    items = definition.item_map()
    every = definition.every_item_asked  # most checklists: nothing to work out
    shown = items if every else definition.shown({a.item_id: a.value for a in answers if a.item_id in items})
    errors: dict[str, str] = {}
    given: dict[str, AnswerIn] = {}
    for answer in answers:
        item_id = answer.item_id
        if item_id not in items:
            errors[item_id] = "unknown_item"
        elif not every and (item_id not in shown or not items[item_id].answerable):
            continue
        elif item_id in given:
            errors[item_id] = "duplicate_item"
        else:
            given[item_id] = answer
    counted, grades = [], []
    weighed = weighed_passing = 0.0  # N/A and what cannot fail weigh nothing
    for item_id, item in items.items():
        if every or (item_id in shown and item.answerable):
            answer = given.get(item_id)
            code = answer_error(item, answer)
            if code:
                errors[item_id] = code
            elif answer is not None:
                grade = passed(item, answer.value)
                counted.append(answer)
                grades.append(grade)
                if grade is not None:
                    weighed += item.weight
                    weighed_passing += item.weight if grade else 0
    score = round(100 * weighed_passing / weighed, 1) if weighed else None
    return JudgedAnswers(counted, grades, errors, score)


def check_answers(definition: Definition, answers: list[AnswerIn]) -> dict[str, str]:
    """Every problem with a set of answers, by item id. Empty when they may be submitted."""
    return judge_answers(definition, answers).errors


def passed(item: Item, value: Any) -> bool | None:
    """Whether a valid answer passed; None where it does not grade (N/A, unanswered, an item that
    cannot fail)."""
    if not item.can_fail or value in (None, "", [], "na"):
        return None
    return value == ("pass" if item.type == "pass_fail" else item.expected)


@dataclass
class PreparedInspection:
    """A submission checked against everything it names, with its rows ready to write."""

    submission: InspectionSubmission
    version: TemplateVersion
    template: ChecklistTemplate
    site: Site
    location: Location
    items: dict[str, Item]
    answers: list[AnswerIn]  # the relevant ones, in the checklist's order
    grades: list[bool | None]  # each answer's ``passed``
    row: dict  # every column of the inspection (one statement for many rows needs the same keys)
    local_day: date
    check_kind: CheckKind | None
    failing: list[str]  # failed items that open or re-open a ticket
    rechecks: bool  # a check that may close open rework or violations by passing

    @property
    def plain(self) -> bool:
        """Nothing to do beyond its own rows: no ticket to open, re-open or close, no sign-off."""
        return not self.failing and not self.rechecks and workflow_of(self.template).after is None


def submit_inspection(
    session: Session,
    submission: InspectionSubmission,
    *,
    actor: User,
    origin: Origin,
    now: datetime,
    clock_offset_ms: int | None = None,
    known_new: bool = False,
) -> Submitted:
    """Store a filled checklist and open a ticket for each failed item that asks for one.

    Submitting the same ``inspection_id`` again changes nothing and returns the first outcome.
    ``known_new``: the caller looked the id up already (a pushed batch does, in one query).
    """
    existing = None if known_new else session.get(Inspection, submission.inspection_id)
    if existing is not None:
        if existing.inspector_id != actor.id:
            raise SubmissionRefused("inspection_id_taken", "that inspection id belongs to another record")
        return Submitted(existing, created=False, tickets=_tickets_of(session, existing))
    prepared = prepare_inspection(
        session, submission, actor=actor, origin=origin, now=now, clock_offset_ms=clock_offset_ms
    )
    return _write(session, prepared, actor=actor, origin=origin, now=now)


def prepare_inspection(
    session: Session,
    submission: InspectionSubmission,
    *,
    actor: User,
    origin: Origin,
    now: datetime,
    clock_offset_ms: int | None = None,
    known: dict | None = None,
) -> PreparedInspection:
    """Check a new submission (raises SubmissionRefused) and make its rows; writes nothing.
    ``known``: rows looked up for earlier submissions of the same batch, kept for the next."""
    known = {} if known is None else known

    def get(model, key):
        if (model, key) not in known:
            known[(model, key)] = session.get(model, key)
        return known[(model, key)]

    version_key = ("version", submission.template_id, submission.template_version)
    if version_key not in known:
        known[version_key] = get_template_version(session, submission.template_id, submission.template_version)
    version = known[version_key]
    if version is None:
        raise SubmissionRefused("unknown_template", "no such template version")
    template: ChecklistTemplate = version.template
    site = get(Site, submission.site_id)
    location = get(Location, submission.location_id)
    allowed = ("allowed", actor.id, version.id, submission.site_id, submission.location_id)
    if allowed not in known:  # the same checklist, site and place as an earlier one: checked
        if site is None or not actor.may_see_site(site.id):
            raise SubmissionRefused("site_forbidden", "you may not write to that site")
        if not template.applies_to_site(site.id) or not template.may_be_filled_by(actor):
            raise SubmissionRefused("template_forbidden", "you may not fill in that checklist")
        if location is None or location.site_id != site.id:
            raise SubmissionRefused("unknown_location", "no such location on that site")
        known[allowed] = True
    if submission.assignment_id is not None:
        assignment = get(Assignment, submission.assignment_id)
        if (
            assignment is None
            or assignment.template_id != template.id
            or assignment.location_id != location.id
            or (assignment.assignee_id != actor.id and actor.role not in OFFICE)
        ):
            raise SubmissionRefused("bad_assignment", "that assignment is not yours for this checklist")
    if submission.finished_at < submission.started_at:
        raise SubmissionRefused("bad_times", "finished before it started")
    definition = version.parsed()
    judged = judge_answers(definition, submission.answers)
    if judged.errors:
        raise SubmissionRefused("invalid_answers", "some answers are not valid", judged.errors)
    local_day = submission.finished_at.astimezone(ZoneInfo(site.timezone)).date()
    workflow = workflow_of(template)
    if workflow.before is not None:
        try:
            workflow.before(session, template, location, local_day)
        except FitoutRefused as refused:
            raise SubmissionRefused(refused.code, "; ".join([refused.message, *refused.details])) from None

    items, answers, grades = definition.item_map(), judged.answers, judged.grades
    check_kind = workflow.check_kind(actor)
    row = {
        "id": submission.inspection_id,
        "template_version_id": version.id,
        "site_id": site.id,
        "location_id": location.id,
        "assignment_id": submission.assignment_id,
        "inspector_id": actor.id,
        "device_id": origin.device_id,
        "corrects_id": submission.corrects_inspection_id,
        "started_at": submission.started_at,
        "finished_at": submission.finished_at,
        "received_at": now,
        "clock_offset_ms": clock_offset_ms,
        "clock_flagged": clock_offset_ms is not None and abs(clock_offset_ms) > CLOCK_FLAG_MS,
        "geo": where(submission),
        "source": origin.source,
        "failed_count": grades.count(False),
        "score": judged.score,
        "check_kind": check_kind.value if check_kind else None,
        "photos_missing": 0,  # the sync path counts them once the record is in (sync/push.py)
    }
    failing = [
        a.item_id for a, grade in zip(answers, grades, strict=True) if grade is False and items[a.item_id].on_fail
    ]
    rechecks = workflow.rechecks(check_kind)  # passing an item again closes its open ticket
    return PreparedInspection(
        submission,
        version,
        template,
        site,
        location,
        items,
        answers,
        grades,
        row,
        local_day,
        check_kind,
        failing,
        rechecks,
    )


def write_plain_inspections(session: Session, batch: list[PreparedInspection]) -> None:
    """Many plain inspections (``PreparedInspection.plain``) at once: a statement per table for
    the lot, not per inspection. The rows are not loaded into the session."""
    if not batch:
        return
    session.connection().execute(insert(Inspection.__table__), [p.row for p in batch])
    _insert_answers(session, [(p.row["id"], p.answers, p.grades) for p in batch])
    for prepared in batch:
        _logged(prepared, 0)


def _write(session: Session, prepared: PreparedInspection, *, actor: User, origin: Origin, now: datetime) -> Submitted:
    """One inspection, with the tickets its answers open, re-open or close."""
    site, location, items, template = prepared.site, prepared.location, prepared.items, prepared.template
    answers = prepared.answers
    # Written with Core, then attached as if loaded: one INSERT without the unit of work's
    # bookkeeping, which costs more than the database for a row written once and never edited.
    row = prepared.row
    session.connection().execute(insert(Inspection.__table__), row)
    inspection = Inspection(**row)
    inspection.template_version, inspection.site, inspection.location = prepared.version, site, location
    make_transient_to_detached(inspection)
    session.add(inspection)
    _insert_answers(session, [(inspection.id, answers, prepared.grades)])

    failing, rechecks = prepared.failing, prepared.rechecks
    open_by_item = {}
    if failing or rechecks:
        # A second check failing the same item at once (another server) waits here, then joins
        # the ticket this one opens: one problem, one ticket (ux_ticket_open_item).
        hold_lock(session, "failures_at_place", location.id)
        open_by_item = _open_tickets_by_item(session, location, [a.item_id for a in answers])
    shown_by = _shown_by(answers, items) if open_by_item or failing else {}
    tickets = []
    for a, grade in zip(answers, prepared.grades, strict=True):
        item = items[a.item_id]
        known = open_by_item.get(a.item_id)
        photos = _evidence(a, shown_by) if known is not None or grade is False else []
        if grade is False and item.on_fail is not None:
            if known is None:
                tickets.append(
                    _open_failure_ticket(
                        session,
                        inspection,
                        item,
                        a,
                        photos,
                        site,
                        location,
                        actor,
                        origin,
                        now,
                        prepared.submission.finished_at,
                    )
                )
            else:
                report_again(
                    session,
                    known,
                    inspection_id=inspection.id,
                    note=a.note,
                    photos=photos,
                    actor=actor,
                    origin=origin,
                    now=now,
                )
                tickets.append(known)
        elif (
            known is not None
            and known.kind in (TicketKind.REWORK, TicketKind.VIOLATION)
            and a.value == "pass"
            and rechecks
        ):
            close_by_recheck(
                session,
                known,
                inspection_id=inspection.id,
                photos=photos,
                actor=actor,
                origin=origin,
                now=now,
            )
    after = workflow_of(template).after
    if after is not None:
        after(session, template, location, prepared.local_day)
    _logged(prepared, len(tickets))
    return Submitted(inspection, created=True, tickets=tickets)


def _logged(prepared: PreparedInspection, tickets: int) -> None:
    log.info(
        "inspection %s (%s) submitted by %s via %s: %d failed, %d tickets",
        prepared.row["id"],
        prepared.template.title,
        prepared.row["inspector_id"],
        prepared.row["source"],
        prepared.row["failed_count"],
        tickets,
    )


def _insert_answers(session: Session, inspections: list[tuple[uuid.UUID, list[AnswerIn], list[bool | None]]]) -> None:
    """The answers of these inspections and their photos in two statements: a checklist has
    dozens of rows, and the unit of work's per-object bookkeeping would cost more than the
    database does."""
    rows = [
        {
            "inspection_id": inspection_id,
            "item_id": a.item_id,
            "position": n,
            "value": a.value,
            "note": a.note,
            "passed": grade,
        }
        for inspection_id, answers, grades in inspections
        for n, (a, grade) in enumerate(zip(answers, grades, strict=True))
    ]
    if not rows:
        return
    with_photos = [(i, a) for i, answers, _ in inspections for a in answers if a.photos]
    connection = session.connection()
    if not with_photos:
        connection.execute(insert(Answer.__table__), rows)
        return
    returning = Answer.inspection_id, Answer.item_id, Answer.id
    ids = {
        (inspection_id, item_id): answer_id
        for inspection_id, item_id, answer_id in connection.execute(
            insert(Answer.__table__).returning(*returning, sort_by_parameter_order=True), rows
        )
    }
    connection.execute(
        insert(AnswerPhoto.__table__),
        [
            {"answer_id": ids[(inspection_id, a.item_id)], "photo_sha256": sha, "position": n}
            for inspection_id, a in with_photos
            for n, sha in enumerate(dict.fromkeys(a.photos))
        ],
    )


def _shown_by(answers: list[AnswerIn], items: dict[str, Item]) -> dict[str, list[AnswerIn]]:
    """The answers to the items each item's answer made the checklist ask (show-if)."""
    children: dict[str, list[AnswerIn]] = {}
    for answer in answers:
        condition = items[answer.item_id].show_if
        if condition is not None:
            children.setdefault(condition.item_id, []).append(answer)
    return children


def _evidence(answer: AnswerIn, shown_by: dict[str, list[AnswerIn]]) -> list[str]:
    """The photos a ticket about ``answer`` carries: its own and those of the items asked because
    of it (and because of those), once each."""
    photos, todo = [], [answer]
    while todo:
        current = todo.pop(0)
        photos.extend(current.photos)
        todo.extend(shown_by.get(current.item_id, []))
    return list(dict.fromkeys(photos))


def _open_tickets_by_item(session: Session, location: Location, item_ids: list[str]) -> dict[str, Ticket]:
    """Tickets still open for these items at this location, opened by earlier checks."""
    found = session.scalars(
        select(Ticket)
        .where(
            Ticket.location_id == location.id,
            Ticket.item_id.in_(item_ids),
            Ticket.state.in_([s.value for s in OPEN_STATES]),
        )
        .order_by(Ticket.created_at)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {ticket.item_id: ticket for ticket in reversed(found.all())}  # the oldest wins


def _open_failure_ticket(
    session: Session,
    inspection: Inspection,
    item: Item,
    answer: AnswerIn,
    photos: list[str],
    site: Site,
    location: Location,
    actor: User,
    origin: Origin,
    now: datetime,
    done_at: datetime,
) -> Ticket:
    assert item.on_fail is not None
    department = session.scalar(select(Department).where(Department.code == item.on_fail.department))
    kind = TicketKind(item.on_fail.ticket_kind)
    route = route_failure(
        session,
        site=site,
        location=location,
        department=department,
        done_at=done_at,
        assignment_id=inspection.assignment_id,
        role=item.on_fail.role,
    )
    description = "\n".join(part for part in (item.standard, answer.note) if part)
    return open_ticket(
        session,
        kind=kind,
        assignee=route.person,
        title=f"{location.name}：{item.label}",
        description=description,
        site=site,
        location=location,
        department=department,
        due_hours=item.on_fail.due_hours,
        priority=Priority(item.on_fail.priority),
        photos=photos,
        actor=actor,
        origin=origin,
        now=now,
        inspection_id=inspection.id,
        item_id=item.id,
    )


def _tickets_of(session: Session, inspection: Inspection) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.inspection_id == inspection.id).order_by(Ticket.number)))
