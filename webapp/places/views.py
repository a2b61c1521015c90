"""管理 → 项目与位置: a company's sites and the tree of places in each, by hand or by spreadsheet."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from foundation.base import utcnow
from foundation.org import Location, LocationKind, Site, User
from foundation.place_import import (
    COLUMNS,
    ZH_AREA_TYPES,
    ZH_COLUMNS,
    ZH_KINDS,
    Plan,
    Problem,
    apply_plan,
    export_rows,
    plan_import,
)
from foundation.places import (
    AREA_TYPES,
    PARENT_KINDS,
    PlaceRefused,
    add_place,
    archive_place,
    create_site,
    edit_place,
    edit_site,
    holders,
    restore_place,
    site_tree,
)
from foundation.roles import OFFICE, Role
from foundation.sheets import write_sheet
from inspections.routing import OPTIONAL_STEPS, rule_of, save_rule, site_people
from webapp.access import require_site, roles_required, visible_sites
from webapp.choices import choices
from webapp.downloads import XLSX, download
from webapp.extensions import db
from webapp.form_rules import TEXT_ERRORS, Form
from webapp.labels import AREA_TYPE_LABELS, PLACE_KIND_LABELS, role_label
from webapp.pages import render, see_other
from webapp.places.forms import PlaceForm, RoutingForm, SiteForm
from webapp.sheet_forms import (
    ApplyForm,
    SheetForm,
    allowed_values,
    carried,
    carry,
    file_problem_text,
    import_template,
    sheet_limits,
)

bp = Blueprint("places", __name__, url_prefix="/places")


@bp.route("", methods=["GET", "POST"])
@roles_required(OFFICE)
def index():
    """The person's sites, and a form to add one (a manager who adds a site works there)."""
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = create_site(
                db.session,
                code=form.code.data,
                name=form.name.data,
                timezone=form.timezone.data.strip(),
                address=form.address.data or "",
            )
        except PlaceRefused as refused:
            db.session.rollback()
            _form_error(form, refused)
        else:
            if current_user.role != Role.ADMIN:
                current_user.sites.append(site)
            db.session.commit()
            flash(_("%(name)s added. Now add its buildings, floors and areas.", name=site.name))
            return see_other(url_for("places.site", site_id=site.id))
    return render("places/index.html", form=form, sites=visible_sites(current_user), status=422 if form.errors else 200)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@roles_required(OFFICE)
def site(site_id: int):
    """A site's details and its place tree; add a place anywhere in it."""
    site = _site(site_id)
    site_form = SiteForm(prefix="site", obj=site if request.method == "GET" else None)
    place_form = _place_form(site, prefix="place")
    routing_form = _routing_form(site)
    action = request.form.get("action")
    if action == "routing" and routing_form.validate_on_submit():
        chosen = routing_form.last_resort_id.data
        save_rule(
            db.session,
            site,
            skipped=[step for step in OPTIONAL_STEPS if not getattr(routing_form, step.value).data],
            last_resort=db.session.get(User, int(chosen)) if chosen else None,
        )
        db.session.commit()
        flash(_("Saved."))
        return see_other(url_for("places.site", site_id=site.id, _anchor="routing"))
    if action == "site" and site_form.validate_on_submit():
        try:
            edit_site(
                site,
                name=site_form.name.data,
                timezone=site_form.timezone.data.strip(),
                address=site_form.address.data or "",
            )
        except PlaceRefused as refused:
            db.session.rollback()
            _form_error(site_form, refused)
        else:
            db.session.commit()
            flash(_("Saved."))
            return see_other(url_for("places.site", site_id=site.id))
    if action == "place" and place_form.validate_on_submit():
        kind = LocationKind(place_form.kind.data)
        parent = _parent(site, place_form.parent_id.data)
        try:
            place = add_place(
                db.session,
                site,
                kind=kind,
                name=place_form.name.data,
                parent=parent,
                area_type=place_form.area_type.data or None,
            )
        except PlaceRefused as refused:
            db.session.rollback()
            _form_error(place_form, refused)
        else:
            db.session.commit()
            flash(_("%(name)s added.", name=place.full_name))
            return see_other(url_for("places.site", site_id=site.id, _anchor=f"place-{place.id}"))
    site_form.code.render_kw = {"readonly": True}
    failed = bool(site_form.errors or place_form.errors or routing_form.errors)
    return render(
        "places/site.html",
        site=site,
        site_form=site_form,
        place_form=place_form,
        routing_form=routing_form,
        tree=site_tree(db.session, site),
        toggle=Form(),
        status=422 if failed else 200,
    )


@bp.route("/<int:place_id>", methods=["GET", "POST"])
@roles_required(OFFICE)
def place(place_id: int):
    """Rename a place, move it, change its cleaning standard."""
    place = db.session.get(Location, place_id) or abort(404)
    site = _site(place.site_id)
    if place.archived_at is not None:
        abort(404)
    form = _place_form(site, exclude=place)
    form.kind.choices = choices([(place.kind.value, PLACE_KIND_LABELS[place.kind.value])])
    if request.method == "GET":
        form.kind.data, form.name.data = place.kind.value, place.name
        form.parent_id.data, form.area_type.data = place.parent_id or 0, place.area_type or ""
    if form.validate_on_submit():
        try:
            edit_place(
                db.session,
                place,
                name=form.name.data,
                parent=_parent(site, form.parent_id.data),
                area_type=form.area_type.data or None,
            )
        except PlaceRefused as refused:
            db.session.rollback()
            _form_error(form, refused)
        else:
            db.session.commit()
            flash(_("Saved."))
            return see_other(url_for("places.site", site_id=site.id, _anchor=f"place-{place.id}"))
    return render("places/place.html", site=site, place=place, form=form, status=422 if form.errors else 200)


@bp.route("/<int:place_id>/archive", methods=["POST"])
@roles_required(OFFICE)
def archive(place_id: int):
    """Take a place (and what is in it) off phones and pickers; its history stays."""
    place = _posted_place(place_id)
    gone = archive_place(db.session, place, utcnow())
    db.session.commit()
    flash(_("%(name)s archived (%(n)s places in all); its records stay.", name=place.full_name, n=len(gone)))
    return see_other(url_for("places.site", site_id=place.site_id, _anchor=f"place-{place.id}"))


@bp.route("/<int:place_id>/restore", methods=["POST"])
@roles_required(OFFICE)
def restore(place_id: int):
    place = _posted_place(place_id)
    try:
        restore_place(db.session, place)
    except PlaceRefused as refused:
        db.session.rollback()
        flash(_refusal_text(refused), "error")
    else:
        db.session.commit()
        flash(_("%(name)s is back.", name=place.full_name))
    return see_other(url_for("places.site", site_id=place.site_id, _anchor=f"place-{place.id}"))


@bp.route("/sites/<int:site_id>/places.<any(csv, xlsx):fmt>")
@roles_required(OFFICE)
def export(site_id: int, fmt: str):
    """The whole tree, archived places too: edit it in Excel and import it back."""
    site = _site(site_id)
    header, rows = export_rows(db.session, site, chinese=current_user.locale == "zh")
    mimetype = XLSX if fmt == "xlsx" else "text/csv"
    return download(write_sheet(fmt, header, rows), mimetype, f"{site.code}-places.{fmt}")


@bp.route("/sites/<int:site_id>/import/template.xlsx")
@roles_required(OFFICE)
def import_template_file(site_id: int):
    """An empty tree to fill in, with the kinds and cleaning standards it takes."""
    site = _site(site_id)
    kinds = (LocationKind.UNIT, LocationKind.AREA, LocationKind.CHECKPOINT)
    allowed = {
        ZH_COLUMNS["kind"]: [ZH_KINDS[k] for k in kinds],
        ZH_COLUMNS["area_type"]: list(ZH_AREA_TYPES.values()),
        ZH_COLUMNS["archived"]: ["是"],
    }
    return import_template(f"{site.code}-places-template", [ZH_COLUMNS[c] for c in COLUMNS], allowed)


@bp.route("/sites/<int:site_id>/import", methods=["GET", "POST"])
@roles_required(OFFICE)
def import_tree(site_id: int):
    """Upload a spreadsheet of the whole tree: see what would change, then apply it."""
    site = _site(site_id)
    form = SheetForm()
    plan, confirm = None, None
    if form.validate_on_submit():
        data = form.file.data.read()
        plan = plan_import(db.session, site, form.file.data.filename or "places.csv", data, sheet_limits())
        confirm = carry(data, form.file.data.filename, plan.digest)
    return _preview(site, form, plan, confirm)


@bp.route("/sites/<int:site_id>/import/apply", methods=["POST"])
@roles_required(OFFICE)
def apply_import(site_id: int):
    """Apply the previewed file, if the tree is still as it was when it was previewed."""
    site = _site(site_id)
    form, data = carried()
    plan = plan_import(db.session, site, form.filename.data, data, sheet_limits())
    if plan.problems or plan.digest != form.digest.data:
        flash(_("The places changed since the preview: check the new preview before applying."), "error")
        return _preview(
            site,
            SheetForm(formdata=None),
            plan,
            carry(data, form.filename.data, plan.digest),
        )
    apply_plan(db.session, site, plan, utcnow())
    db.session.commit()
    flash(
        _(
            "Applied: %(created)s created, %(changed)s changed, %(archived)s archived, %(restored)s restored.",
            created=len(plan.create),
            changed=len(plan.change),
            archived=len(plan.archive),
            restored=len(plan.restore),
        )
    )
    return see_other(url_for("places.site", site_id=site.id))


def _preview(site: Site, form: SheetForm, plan: Plan | None, confirm: ApplyForm | None):
    problems = [_problem_text(p) for p in plan.problems] if plan else []
    return render(
        "places/import.html",
        site=site,
        form=form,
        plan=plan,
        confirm=confirm,
        problems=problems,
        status=422 if problems or form.errors else 200,
    )


def _routing_form(site: Site) -> RoutingForm:
    """The site's rule as a form: the steps it uses ticked, and who takes the rest (a person of
    the site's desk or office; none named: its first manager)."""
    rule = rule_of(db.session, site.id)
    data = {step.value: step.value not in rule.skipped for step in OPTIONAL_STEPS}
    data["last_resort_id"] = str(rule.last_resort_id or "")
    form = RoutingForm(prefix="routing", data=None if request.method == "POST" else data)
    form.last_resort_id.choices = choices(
        [("", _("The site's manager"))]
        + [(str(p.id), f"{p.display_name} · {role_label(p.role)}") for p in site_people(db.session, site)]
    )
    return form


def _site(site_id: int) -> Site:
    site = db.session.get(Site, site_id) or abort(404)
    require_site(site.id)
    return site


def _posted_place(place_id: int) -> Location:
    place = db.session.get(Location, place_id) or abort(404)
    require_site(place.site_id)
    if not Form().validate_on_submit():
        abort(400)
    return place


def _parent(site: Site, parent_id: int) -> Location | None:
    if not parent_id:
        return None
    parent = db.session.get(Location, parent_id)
    if parent is None or parent.site_id != site.id:
        abort(400)
    return parent


def _place_form(site: Site, *, prefix: str = "", exclude: Location | None = None) -> PlaceForm:
    form = PlaceForm(prefix=prefix)
    form.kind.choices = choices((k.value, PLACE_KIND_LABELS[k.value]) for k in PARENT_KINDS)
    kinds = [LocationKind(form.kind.data)] if form.kind.data in {k.value for k in LocationKind} else list(LocationKind)
    if exclude is not None:
        kinds = [exclude.kind]
    seen, parents = set(), [(0, site.name)]
    for kind in kinds:
        for holder in holders(db.session, site, kind, exclude=exclude):
            if holder.id not in seen:
                seen.add(holder.id)
                parents.append((holder.id, holder.full_name))
    form.parent_id.choices = choices(parents)
    form.area_type.choices = choices([("", "—")] + [(a, AREA_TYPE_LABELS[a]) for a in AREA_TYPES])
    return form


def _form_error(form, refused: PlaceRefused) -> None:
    field = {
        "code_taken": "code",
        "unknown_timezone": "timezone",
        "wrong_parent_kind": "parent_id",
        "bad_parent": "parent_id",
        "unknown_area_type": "area_type",
    }.get(refused.code, "name")
    getattr(form, field).errors.append(_refusal_text(refused))


def _refusal_text(refused: PlaceRefused) -> str:
    match refused.code:
        case "code_taken":
            return _("Another site already has this code.")
        case "unknown_timezone":
            return _("Not a time zone; write it like Asia/Shanghai.")
        case "name_taken":
            return _("There is already a place of this name there.")
        case "wrong_parent_kind" | "bad_parent":
            return _("A place of this kind cannot be there: buildings hold floors, floors hold rooms and areas.")
        case "unknown_area_type":
            return _("Choose a cleaning standard from the list.")
        case "too_long":
            return _("Longer than %(n)s characters.", n=refused.args_[0])
        case "empty":
            return _("This is required.")
    return TEXT_ERRORS.get(refused.code, refused.code)


def _problem_text(problem: Problem) -> str:
    args = problem.args
    match problem.code:
        case code if file_problem_text(code, args):
            text = file_problem_text(code, args)
        case "duplicate":
            text = _("The same place as line %(line)s.", line=args[0])
        case "unknown_kind":
            kinds = {k.value: ZH_KINDS[k] for k in (LocationKind.UNIT, LocationKind.AREA, LocationKind.CHECKPOINT)}
            text = _(
                "“%(value)s” is not a kind of place: use %(allowed)s.", value=args[0], allowed=allowed_values(kinds)
            )
        case "kind_mismatch":
            text = _(
                "“%(value)s” does not match the columns: a row with only a building is a building, with a floor a floor.",
                value=args[0],
            )
        case "unknown_area_type":
            text = _(
                "“%(value)s” is not a cleaning standard: use %(allowed)s.",
                value=args[0],
                allowed=allowed_values(ZH_AREA_TYPES),
            )
        case "area_type_not_area":
            text = _("Only areas have a cleaning standard.")
        case "bad_archived":
            text = _("Archived is “yes” or empty, not “%(value)s”.", value=args[0])
        case "inside_archived":
            text = _("This place is live but what holds it (line %(line)s) is archived.", line=args[0])
        case "too_long":
            text = _("%(column)s is longer than %(n)s characters.", column=args[0], n=args[1])
        case "empty":
            text = _("%(column)s is empty.", column=args[0])
        case _:
            text = f"{args[0] if args else ''}: {TEXT_ERRORS.get(problem.code, problem.code)}"
    return _("Line %(line)s: %(text)s", line=problem.line, text=text) if problem.line else text
