"""管理 → 检查表: managers (and whoever a manager allows) write the company's checklists.

Edits go to a draft; a preview fills it on a phone-sized page without making a record; publishing
makes a new immutable version with a note, after the diff and what it touches were shown.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, time
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from pydantic import ValidationError
from sqlalchemy import func, select

from foundation.base import utcnow
from foundation.org import Department, LocationKind, Site
from foundation.places import AREA_TYPES
from foundation.roles import CHECKLIST_WRITERS, Role
from inspections.authoring import (
    AuthoringRefused,
    Change,
    diff,
    discard_draft,
    draft_changes_anything,
    draft_of,
    impact,
    loose,
    may_write,
    move_item,
    new_checklist,
    publish_draft,
    put_item,
    put_section,
    remove_item,
    remove_section,
    replace_draft,
    suggest_key,
    version_in_use,
    writes_for_every_site,
)
from inspections.checklists import (
    ChecklistTemplate,
    Definition,
    DefinitionProblem,
    Item,
    TemplateKind,
    TemplateVersion,
    get_template_version,
    show_if_values,
)
from inspections.library import copy_from_library, library
from inspections.xlsform import Problem, XlsFormRefused, read_xlsform, write_xlsform
from webapp.access import visible_sites
from webapp.checklists.forms import ChecklistForm, CopyForm, ItemForm, PublishForm, SectionForm, XlsFormUpload
from webapp.choices import choices
from webapp.downloads import XLSX, download
from webapp.extensions import db
from webapp.labels import (
    AREA_TYPE_LABELS,
    DEPARTMENT_LABELS,
    ITEM_FIELD_LABELS,
    ITEM_TYPE_LABELS,
    KIND_LABELS,
    PLACE_KIND_LABELS,
    PRIORITY_LABELS,
    ROLE_LABELS,
    TEMPLATE_KIND_LABELS,
    answer_label,
)
from webapp.pages import render, see_other
from webapp.sheet_forms import xlsform_limits

bp = Blueprint("checklists", __name__, url_prefix="/builder")
ITEM_TYPES = ["pass_fail", "yes_no", "number", "text", "choice", "photo", "signature", "instruction"]


def writers_only(view):
    """Managers write checklists, and anyone a manager allowed to (``User.writes_checklists``)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.may_write_checklists:
            abort(403)
        return view(*args, **kwargs)

    wrapped.allowed_roles = CHECKLIST_WRITERS  # read by the access-matrix test
    return wrapped


def _template(template_id: int, *, write: bool = True) -> ChecklistTemplate:
    """A checklist this person sees (a company-wide one, or one of their sites'); to change it
    (``write``), one they may write for every site that uses it (403 otherwise)."""
    template = db.session.get(ChecklistTemplate, template_id) or abort(404)
    if template.site_id is not None and not current_user.may_see_site(template.site_id):
        abort(404)
    if write and not may_write(db.session, current_user, template):
        abort(403)
    return template


@bp.context_processor
def _checklist_rules() -> dict:
    return {
        "writable_checklist": lambda template: may_write(db.session, current_user, template),
        "draft_changes_anything": lambda template: draft_changes_anything(db.session, template),
    }


def _site_choices() -> list[tuple[int, str]]:
    every = [(0, _("Every site"))] if writes_for_every_site(db.session, current_user) else []
    return choices(every + [(s.id, s.name) for s in visible_sites(current_user)])


def _site_or_none(site_id: int) -> int | None:
    if site_id and site_id not in {s.id for s in visible_sites(current_user)}:
        abort(404)
    return site_id or None


def _settings_choices(form) -> None:
    form.kind.choices = choices((k.value, TEMPLATE_KIND_LABELS[k.value]) for k in TemplateKind)
    form.site_id.choices = _site_choices()
    form.roles.choices = choices((r.value, ROLE_LABELS[r.value]) for r in Role if r != Role.ADMIN)
    # What the checklist is done at: an area type's standard, or every place of a kind (units for
    # fit-out checks, checkpoints for patrols); saving the settings must keep either.
    places = [(k, PLACE_KIND_LABELS[k]) for k in (LocationKind.UNIT.value, LocationKind.CHECKPOINT.value)]
    form.area_type.choices = choices([("", _("None"))] + [(a, AREA_TYPE_LABELS[a]) for a in AREA_TYPES] + places)


@bp.route("")
@writers_only
def index():
    """Every checklist this person may write, with its version in use and any draft."""
    sites = [s.id for s in visible_sites(current_user)]
    templates = db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.site_id.is_(None) | ChecklistTemplate.site_id.in_(sites))
        .order_by(ChecklistTemplate.kind, ChecklistTemplate.title)
    ).all()
    return render("checklists/index.html", templates=templates)


@bp.route("/new", methods=["GET", "POST"])
@writers_only
def new():
    """A new checklist: its settings now, its items in the builder; phones see it once published."""
    form = ChecklistForm()
    _settings_choices(form)
    if form.validate_on_submit():
        template = _new_checklist(form, form.title.data.strip())
        db.session.commit()
        return see_other(url_for(".builder", template_id=template.id))
    return render("checklists/new.html", form=form, status=422 if form.errors else 200)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@writers_only
def builder(template_id: int):
    """The draft, section by section: add, edit, move and remove items and sections."""
    template = _template(template_id, write=request.method == "POST")
    settings = ChecklistForm(obj=template, site_id=template.site_id or 0)
    _settings_choices(settings)
    settings.kind.render_kw = {"disabled": True}
    settings.site_id.render_kw = {"disabled": True}
    if request.method == "POST":
        settings.kind.data, settings.site_id.data = template.kind.value, template.site_id or 0
        if settings.validate_on_submit():
            template.title = settings.title.data.strip()
            template.roles = settings.roles.data
            template.area_type = settings.area_type.data or None
            db.session.commit()
            flash(_("Saved."))
            return see_other(url_for(".builder", template_id=template.id))
    document = template.draft
    return render(
        "checklists/builder.html",
        labels={i.id: i.label for i in loose(document).items()} if document else {},
        template=template,
        settings=settings,
        definition=loose(document) if document else None,
        problems=loose(document).problems() if document else [],
        problem_text=problem_text,
        in_use=version_in_use(db.session, template),
        writable=may_write(db.session, current_user, template),
        section_form=SectionForm(),
        status=422 if settings.errors else 200,
    )


@bp.route("/<int:template_id>/draft", methods=["POST"])
@writers_only
def start_draft(template_id: int):
    template = _template(template_id)
    draft_of(db.session, template)
    db.session.commit()
    return see_other(url_for(".builder", template_id=template.id))


def _item_form(template: ChecklistTemplate, document: dict, item: Item | None, before: str | None) -> ItemForm:
    """The form for ``item`` (None: a new one); its show-if offers the answers of the items above it."""
    form = ItemForm(obj=item) if item is not None and request.method == "GET" else ItemForm()
    form.type.choices = choices((t, ITEM_TYPE_LABELS[t]) for t in ITEM_TYPES)
    earlier = []
    for section in loose(document).sections:
        for other in section.items:
            if other.id == before:
                break
            earlier.append(other)
        else:
            continue
        break
    form.show_if.choices = choices(
        [("", _("Always"))]
        + [
            (f"{other.id}={value}", f"{other.label} = {answer_label(value)}")
            for other in earlier
            for value in show_if_values(other)
        ]
    )
    form.on_fail.choices = choices([("", _("Nothing"))] + list(KIND_LABELS.items()))
    departments = db.session.scalars(select(Department.code).order_by(Department.id)).all()
    form.on_fail_department.choices = choices((d, DEPARTMENT_LABELS.get(d, d)) for d in departments)
    form.on_fail_priority.choices = choices(PRIORITY_LABELS.items())
    form.on_fail_role.choices = choices(
        [("", _("Whoever is on duty or scheduled"))]
        + [(r.value, label) for r, label in ROLE_LABELS.items() if r != Role.ADMIN]
    )
    if item is not None and request.method == "GET":
        form.choices.data = "\n".join(item.choices)
        form.choices_en.data = "\n".join(item.choices_en)
        form.show_if.data = f"{item.show_if.item_id}={item.show_if.equals}" if item.show_if else ""
        form.on_fail.data = ""
        if item.on_fail:
            form.on_fail.data = item.on_fail.ticket_kind
            form.on_fail_department.data = item.on_fail.department
            form.on_fail_due_hours.data = item.on_fail.due_hours
            form.on_fail_priority.data = item.on_fail.priority
            form.on_fail_role.data = item.on_fail.role.value if item.on_fail.role else ""
    return form


def _newest_document(template: ChecklistTemplate) -> dict:
    newest = get_template_version(db.session, template.id, template.current_version)
    return newest.definition if newest else {"sections": [{"title": template.title, "items": []}]}


def _change_lines(change: Change) -> list[tuple[str, str, str]]:
    """What changed in an item, field by field, in words: (field, before, after)."""
    before, after = change.before.model_dump(), change.after.model_dump()
    return [
        (str(ITEM_FIELD_LABELS.get(name, name)), _field_text(name, before[name]), _field_text(name, after[name]))
        for name in change.fields
    ]


def _field_text(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    match name:
        case "type":
            return str(ITEM_TYPE_LABELS[value])
        case "expected":
            return answer_label(value)
        case "choices" | "choices_en":
            return "、".join(value)
        case "workbook":
            return " · ".join([value["list_name"], *value["choice_names"]]) if value else "—"
        case "show_if":
            return f"{value['item_id']} = {answer_label(value['equals'])}"
        case "on_fail":
            return " · ".join(
                [
                    str(KIND_LABELS[value["ticket_kind"]]),
                    str(DEPARTMENT_LABELS.get(value["department"], value["department"])),
                    _("within %(n)s h", n=value["due_hours"]),
                    str(PRIORITY_LABELS[value["priority"]]),
                ]
            )
    return f"{value:g}" if isinstance(value, float) else str(value)


def _item_from(form: ItemForm) -> dict:
    data = {
        "id": form.id.data.strip(),
        "type": form.type.data,
        "label": form.label.data.strip(),
        "label_en": (form.label_en.data or "").strip(),
        "standard": (form.standard.data or "").strip(),
        "standard_en": (form.standard_en.data or "").strip(),
        "required": form.required.data,
        "photo_on_fail": form.photo_on_fail.data,
        "weight": float(form.weight.data if form.weight.data is not None else 1),
    }
    kind = form.type.data
    if kind == "instruction":
        data["required"] = data["photo_on_fail"] = False
    if kind == "yes_no":
        data["expected"] = form.expected.data
    if kind == "pass_fail":
        data["allows_na"] = form.allows_na.data
    if kind == "choice":
        data["choices"] = [line.strip() for line in (form.choices.data or "").splitlines() if line.strip()]
        data["choices_en"] = [line.strip() for line in (form.choices_en.data or "").splitlines() if line.strip()]
    if kind == "number":
        data["unit"] = (form.unit.data or "").strip()
        data["min"] = float(form.min.data) if form.min.data is not None else None
        data["max"] = float(form.max.data) if form.max.data is not None else None
    if kind not in ("pass_fail", "yes_no"):
        data["photo_on_fail"] = False
    if form.show_if.data:
        watched, _sep, equals = form.show_if.data.partition("=")
        data["show_if"] = {"item_id": watched, "equals": equals}
    if form.on_fail.data and kind in ("pass_fail", "yes_no"):
        data["on_fail"] = {
            "ticket_kind": form.on_fail.data,
            "department": form.on_fail_department.data,
            "due_hours": form.on_fail_due_hours.data or 24,
            "priority": form.on_fail_priority.data or "normal",
            "role": form.on_fail_role.data or None,
        }
    return data


@bp.route("/<int:template_id>/items/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/<int:template_id>/items/<item_id>", methods=["GET", "POST"])
@writers_only
def item(template_id: int, item_id: str | None):
    """Add an item to a section, or change one (its key stays)."""
    template = _template(template_id)
    # Read the draft, or what a draft would start from: a GET writes nothing.
    document = template.draft or _newest_document(template)
    current = loose(document).item_map().get(item_id) if item_id else None
    if item_id and current is None:
        abort(404)
    section = request.values.get("section", type=int, default=len(document["sections"]) - 1)
    form = _item_form(template, document, current, item_id)
    if current is not None:
        form.id.data = current.id  # the key never changes
    elif request.method == "POST" and not (form.id.data or "").strip() and form.label.data:
        taken = set(loose(document).item_map())
        form.id.data = suggest_key(form.label.data.strip(), (form.label_en.data or "").strip(), taken)
    if form.validate_on_submit():
        try:
            data = _item_from(form)
            if current is not None and current.workbook and _same_choices(current, data):
                data["workbook"] = current.workbook.model_dump()  # its workbook names still fit
            item = Item.model_validate(data)
            put_item(db.session, template, item, section=section, replacing=item_id)
        except ValidationError as error:
            db.session.rollback()
            form.type.errors = [*form.type.errors, *(_item_error(e) for e in error.errors())]
        except AuthoringRefused as refused:
            db.session.rollback()
            form.id.errors = [*form.id.errors, _authoring_message(refused)]
        else:
            db.session.commit()
            return see_other(url_for(".builder", template_id=template.id, _anchor=f"item-{item.id}"))
    return render(
        "checklists/item.html",
        template=template,
        form=form,
        item=current,
        section=section,
        status=422 if form.errors else 200,
    )


def _same_choices(item: Item, data: dict) -> bool:
    return item.type == data["type"] and item.choices == data.get("choices", [])


def problem_text(problem: DefinitionProblem | Problem) -> str:
    """A checklist's or a workbook's problem in the person's language."""
    code = problem.code
    args = (problem.item_id, *problem.args) if isinstance(problem, DefinitionProblem) else problem.args
    arg = [str(a) for a in (*args, "", "", "")][:3]  # every entry below is worded, whatever the code
    words = {
        "duplicate_key": _("the key %(key)s is used by two items", key=arg[0]),
        "show_if_self": _("%(key)s is shown on its own answer", key=arg[0]),
        "show_if_not_earlier": _(
            "%(key)s is shown on %(other)s, which is not an item above it", key=arg[0], other=arg[1]
        ),
        "show_if_not_an_answer": _(
            "%(key)s waits for “%(value)s”, which is not an answer of %(other)s", key=arg[0], value=arg[1], other=arg[2]
        ),
        "nothing_to_answer": _("a checklist needs at least one item to answer"),
        "not_xlsform": _("this is not an XLSForm workbook (%(why)s)", why=arg[0]),
        "no_survey": _("the workbook has no survey sheet, or it is empty"),
        "column_unsupported": _("this column is not supported"),
        "sheet_unsupported": _("this sheet is not supported"),
        "pyxform": _("pyxform, the XLSForm reference, refuses it: %(why)s", why=arg[0]),
        "choice_incomplete": _("a choice needs a list_name and a name"),
        "nested_group": _("groups inside groups are not supported"),
        "group_not_closed": _("a begin_group has no end_group"),
        "no_such_list": _("there is no choices list named %(name)s", name=arg[0]),
        "type_unsupported": _("the type %(type)s is not supported", type=arg[0]),
        "appearance_unsupported": _("only the appearance signature, on an image, is supported"),
        "not_yes_no": _("“%(value)s” is neither yes nor no", value=arg[0]),
        "relevant_unsupported": _("only ${item} = 'value' is supported"),
        "constraint_not_number": _("only number limits are supported, on integer or decimal items"),
        "constraint_unsupported": _("only . >= a, . <= b, or both joined by and, are supported"),
        "not_a_number": _("“%(value)s” is not a number", value=arg[0]),
        "on_fail_missing": _("on_fail names the ticket kind a failure opens"),
        "invalid": _item_error({"type": arg[1], "msg": _("not valid: %(why)s", why=arg[0])}),
        "not_a_sheet": _("this is not an .xlsx workbook, or it is damaged"),
        "too_large": _("the file is larger than %(n)s bytes", n=arg[0]),
        "unpacks_too_large": _("the workbook unpacks to more than %(n)s bytes", n=arg[0]),
        "compression": _("the workbook is compressed in a way XLSX does not use"),
        "xml_entities": _("the workbook declares XML entities, which a workbook never needs"),
        "too_many_rows": _("a checklist has at most %(n)s rows", n=arg[0]),
        "too_many_columns": _("the workbook has more than %(n)s columns", n=arg[0]),
    }
    return words.get(code, code)


def _item_error(error: dict) -> str:
    """What is wrong with an item (inspections.checklists.Item's own checks), in words."""
    return {
        "no_choices": _("A choice item needs its choices, one per line."),
        "choice_twice": _("A choice is listed twice."),
        "min_above_max": _("The lowest allowed is above the highest."),
        "instruction_answered": _("An instruction is read, never answered: it cannot be required or fail."),
        "cannot_fail": _("Only a pass/fail or yes/no item can fail and open a ticket."),
    }.get(error["type"], error["msg"])


def _authoring_message(refused: AuthoringRefused) -> str:
    return {
        "duplicate_key": _("Another item already uses this key."),
        "key_changed": _("An item's key never changes: add a new item instead."),
        "note_required": _("Say what changed and why."),
        "nothing_changed": _("The draft is the same as the version in use: nothing to publish."),
        "section_not_empty": _("Move or remove the section's items first."),
    }.get(refused.code, refused.message)


@bp.route("/<int:template_id>/items/<item_id>/<any(up, down, remove):action>", methods=["POST"])
@writers_only
def item_action(template_id: int, item_id: str, action: str):
    template = _template(template_id)
    try:
        if action == "remove":
            remove_item(db.session, template, item_id)
        else:
            move_item(db.session, template, item_id, -1 if action == "up" else 1)
    except AuthoringRefused:
        abort(404)
    db.session.commit()
    anchor = None if action == "remove" else f"item-{item_id}"
    return see_other(url_for(".builder", template_id=template.id, _anchor=anchor))


@bp.route("/<int:template_id>/sections", methods=["POST"])
@writers_only
def section(template_id: int):
    """Add a section (no index), rename one, or remove an empty one (action=remove)."""
    template = _template(template_id)
    index = request.form.get("index", type=int)
    form = SectionForm()
    try:
        if request.form.get("action") == "remove" and index is not None:
            remove_section(db.session, template, index)
        elif form.validate_on_submit():
            put_section(db.session, template, form.title.data.strip(), index=index)
        else:
            flash(_("A section needs a title."), "error")
            return see_other(url_for(".builder", template_id=template.id))
    except AuthoringRefused as refused:
        db.session.rollback()
        flash(_authoring_message(refused), "error")
        return see_other(url_for(".builder", template_id=template.id))
    db.session.commit()
    return see_other(url_for(".builder", template_id=template.id))


@bp.route("/<int:template_id>/discard", methods=["POST"])
@writers_only
def discard(template_id: int):
    template = _template(template_id)
    discard_draft(template)
    db.session.commit()
    flash(_("The draft was discarded; the version in use is unchanged."))
    return see_other(url_for(".builder", template_id=template.id))


@bp.route("/<int:template_id>/preview")
@writers_only
def preview(template_id: int):
    """The draft as a phone shows it, to fill in and review; nothing is saved or sent."""
    template = _template(template_id, write=False)
    if template.draft is None:  # published meanwhile, or a bookmark: the checklist's page
        return see_other(url_for(".builder", template_id=template.id))
    return render("checklists/preview.html", template=template, definition=loose(template.draft))


@bp.route("/<int:template_id>/publish", methods=["GET", "POST"])
@writers_only
def publish(template_id: int):
    """The diff against the version in use and what it touches, then publish with a note."""
    template = _template(template_id)
    if template.draft is None:
        return see_other(url_for(".builder", template_id=template.id))
    draft = loose(template.draft)
    newest = get_template_version(db.session, template.id, template.current_version)
    changes = diff(newest.parsed() if newest else Definition.model_construct(sections=[]), draft)
    touched = impact(db.session, template, changes, utcnow())
    form = PublishForm()
    problems = draft.problems()
    if form.validate_on_submit() and not problems:
        if touched.drafts_touched and not form.knows_drafts.data:
            form.knows_drafts.errors = [_("Tick this to publish anyway: those checklists finish on their version.")]
        else:
            try:
                version = publish_draft(
                    db.session,
                    template,
                    note=form.note.data,
                    actor=current_user,
                    effective_at=_start_of(form.effective_on.data, template),
                )
            except AuthoringRefused as refused:
                db.session.rollback()
                form.note.errors = [_authoring_message(refused)]
            else:
                db.session.commit()
                flash(_("Version %(n)s published.", n=version.version))
                return see_other(url_for(".versions", template_id=template.id))
    return render(
        "checklists/publish.html",
        template=template,
        changes=changes,
        impact=touched,
        problems=problems,
        problem_text=problem_text,
        change_lines=_change_lines,
        newest=newest,
        form=form,
        status=422 if form.errors else 200,
    )


def _start_of(day, template: ChecklistTemplate) -> datetime | None:
    """The first moment of ``day`` where the checklist is used (a shift starts on local time)."""
    if day is None:
        return None
    site = db.session.get(Site, template.site_id) if template.site_id else None
    zone = ZoneInfo(site.timezone if site else "Asia/Shanghai")
    return datetime.combine(day, time(0), zone)


@bp.route("/<int:template_id>/versions")
@writers_only
def versions(template_id: int):
    """Every published version with its note, and the changes between any two."""
    template = _template(template_id, write=False)
    rows = db.session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template.id)
        .order_by(TemplateVersion.version.desc())
    ).all()
    numbers = [v.version for v in rows]
    new = request.args.get("to", type=int, default=numbers[0] if numbers else 0)
    old = request.args.get("from", type=int, default=new - 1)
    by_number = {v.version: v for v in rows}
    changes = None
    if old in by_number and new in by_number:
        changes = diff(by_number[old].parsed(), by_number[new].parsed())
    return render(
        "checklists/versions.html",
        template=template,
        versions=rows,
        old=old,
        new=new,
        changes=changes,
        change_lines=_change_lines,
        in_use=version_in_use(db.session, template),
        now=utcnow(),
    )


@bp.route("/<int:template_id>/xlsform.xlsx")
@writers_only
def export(template_id: int):
    """A version (the newest unless ``version``) as an XLSForm workbook that imports back the same."""
    template = _template(template_id, write=False)
    number = request.args.get("version", type=int, default=template.current_version)
    version = get_template_version(db.session, template.id, number) or abort(404)
    body = write_xlsform(template.title, f"checklist_{template.id}", version.parsed())
    return download(body, XLSX, f"{template.title} v{version.version}.xlsx")


@bp.route("/import", methods=["GET", "POST"])
@writers_only
def import_xlsform():
    """An XLSForm workbook into a new checklist's draft or an existing one's; refusals by sheet, row, column."""
    form = XlsFormUpload()
    _settings_choices(form)
    sites = [s.id for s in visible_sites(current_user)]
    mine = [
        template
        for template in db.session.scalars(
            select(ChecklistTemplate)
            .where(ChecklistTemplate.site_id.is_(None) | ChecklistTemplate.site_id.in_(sites))
            .order_by(ChecklistTemplate.title)
        )
        if may_write(db.session, current_user, template)
    ]
    form.into.choices = choices(
        [(0, _("A new checklist"))] + [(t.id, _("The draft of %(t)s", t=t.title)) for t in mine]
    )
    problems = None
    if form.validate_on_submit():
        data, filename = _workbook_of(form)
        if data is None:
            form.file.errors = [_("Choose the workbook.")]
        else:
            # The file first: what is wrong with it is what the person most needs to know.
            try:
                kind = _template(form.into.data).kind if form.into.data else TemplateKind(form.kind.data)
                imported = read_xlsform(data, xlsform_limits(), kind)
            except XlsFormRefused as refused:
                problems = refused.problems
                form.kept.data = form.kept_name.data = ""
            else:
                if not form.into.data and not form.roles.data:
                    form.roles.errors = [_("Say who fills it in.")]
                    form.kept.data, form.kept_name.data = base64.b64encode(data).decode(), filename
                else:
                    template = _import_into(form, imported, filename)
                    db.session.commit()
                    flash(
                        _(
                            "Imported %(n)s items into the draft. Preview it, then publish.",
                            n=len(imported.definition.items()),
                        )
                    )
                    return see_other(url_for(".builder", template_id=template.id))
    return render(
        "checklists/import.html",
        form=form,
        problems=problems,
        problem_text=problem_text,
        status=422 if form.errors or problems else 200,
    )


def _workbook_of(form: XlsFormUpload) -> tuple[bytes | None, str]:
    """The workbook chosen now, or the one kept from the last answer of this page."""
    if form.file.data:
        return form.file.data.read(), form.file.data.filename or "checklist.xlsx"
    try:
        kept = base64.b64decode(form.kept.data or "", validate=True)
    except binascii.Error:
        abort(400)
    return (kept or None), form.kept_name.data or "checklist.xlsx"


def _import_into(form: XlsFormUpload, imported, filename: str) -> ChecklistTemplate:
    if not form.into.data:
        return _new_checklist(form, imported.title[:200] or filename, imported.definition)
    template = _template(form.into.data)
    replace_draft(db.session, template, imported.definition)
    return template


def _new_checklist(form: ChecklistForm | XlsFormUpload, title: str, definition=None) -> ChecklistTemplate:
    return new_checklist(
        db.session,
        title=title,
        kind=TemplateKind(form.kind.data),
        roles=form.roles.data,
        site_id=_site_or_none(form.site_id.data),
        area_type=form.area_type.data or None,
        definition=definition,
    )


@bp.route("/library", methods=["GET"])
@writers_only
def library_index():
    """The manual's checklists, to copy into the company; a copy remembers where it came from."""
    copies = dict(
        db.session.execute(
            select(ChecklistTemplate.library_key, func.count())
            .where(ChecklistTemplate.library_key.is_not(None))
            .group_by(ChecklistTemplate.library_key)
        ).all()
    )
    form = CopyForm()
    form.site_id.choices = _site_choices()
    return render("checklists/library.html", entries=list(library().values()), copies=copies, form=form)


@bp.route("/library/<key>/copy", methods=["POST"])
@writers_only
def copy(key: str):
    if key not in library():
        abort(404)
    form = CopyForm()
    form.site_id.choices = _site_choices()
    if not form.validate_on_submit():
        abort(400)
    template = copy_from_library(db.session, key, actor=current_user, site_id=_site_or_none(form.site_id.data))
    db.session.commit()
    flash(_("Copied. It is in use as version 1; edit it here."))
    return see_other(url_for(".builder", template_id=template.id))
