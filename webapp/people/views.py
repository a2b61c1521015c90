"""The manager's page for people: add staff, reset passwords, deactivate those who left."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from foundation.base import utcnow
from foundation.org import Department, Device, Site, User, user_site
from foundation.people import PersonRefused, create_user, edit_person, may_manage, reset_password, set_active
from foundation.people_import import COLUMNS as PEOPLE_COLUMNS
from foundation.people_import import ZH_COLUMNS as PEOPLE_ZH_COLUMNS
from foundation.people_import import ZH_ROLES, apply_people, plan_people
from foundation.roles import OFFICE, Role
from foundation.tenant_import import COLUMNS, Problem, apply, parse, preview
from inspections.cleaning import duties_of, rule_for
from inspections.today import local_day
from sync.tokens import revoke_device
from webapp.access import roles_required, visible_site_ids, visible_sites
from webapp.choices import choices
from webapp.extensions import db
from webapp.form_rules import TEXT_ERRORS, Form
from webapp.labels import ROLE_LABELS, department_label
from webapp.pages import render, see_other
from webapp.people.forms import PersonForm, ResetPasswordForm
from webapp.sheet_forms import (
    SheetForm,
    allowed_values,
    carried,
    carry,
    file_problem_text,
    import_template,
    sheet_limits,
)

bp = Blueprint("people", __name__, url_prefix="/people")


def _person_form(*, edit: bool = False) -> PersonForm:
    form = PersonForm()
    if edit:  # the username stays (records name it) and the password has its own page
        del form.username
        del form.password
    else:  # a new person starts with what their role may do; a manager can add checklists after
        del form.writes_checklists
    roles = [r for r in Role if r != Role.ADMIN or current_user.role == Role.ADMIN]
    form.role.choices = choices((r.value, ROLE_LABELS[r]) for r in roles)
    form.department_id.choices = choices(
        [(0, "—")]
        + [(d.id, department_label(d.code)) for d in db.session.scalars(select(Department).order_by(Department.id))]
    )
    form.sites.choices = choices((s.id, s.name) for s in visible_sites(current_user))
    return form


def _people() -> list[User]:
    """Everyone of the person's sites; for an administrator everyone, those of no site too (the
    administrators themselves)."""
    found = select(User).order_by(User.role, User.display_name)
    if current_user.role != Role.ADMIN:
        found = found.join(user_site).where(user_site.c.site_id.in_(visible_site_ids(current_user))).distinct()
    return list(db.session.scalars(found))


@bp.route("", methods=["GET", "POST"])
@roles_required(OFFICE)
def index():
    """Staff of the manager's sites, and a form to add one."""
    form = _person_form()
    if form.validate_on_submit():
        sites = [db.session.get(Site, site_id) for site_id in form.sites.data]
        try:
            user = create_user(
                db.session,
                username=form.username.data.strip(),
                display_name=form.display_name.data.strip(),
                password=form.password.data,
                role=Role(form.role.data),
                sites=sites,
                department=db.session.get(Department, form.department_id.data) if form.department_id.data else None,
                actor=current_user,
            )
        except PersonRefused:
            db.session.rollback()
            form.username.errors.append(_("This username is taken."))
        else:
            db.session.commit()
            flash(_("%(name)s can now log in as %(username)s.", name=user.display_name, username=user.username))
            return see_other(url_for("people.index"))
    return render(
        "people/index.html",
        form=form,
        people=_people(),
        may_manage=may_manage,
        toggle=Form(),
        status=422 if form.errors else 200,
    )


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required(OFFICE)
def edit(user_id: int):
    """Someone's name, role, department and sites."""
    user = _person(user_id)
    form = _person_form(edit=True)
    if request.method == "GET":
        form.display_name.data, form.role.data = user.display_name, user.role.value
        form.department_id.data = user.department_id or 0
        form.writes_checklists.data = user.writes_checklists
        form.sites.data = [s.id for s in user.sites if current_user.may_see_site(s.id)]
    if form.validate_on_submit():
        try:
            edit_person(
                db.session,
                user,
                display_name=form.display_name.data.strip(),
                role=Role(form.role.data),
                sites=[db.session.get(Site, site_id) for site_id in form.sites.data],
                department=db.session.get(Department, form.department_id.data) if form.department_id.data else None,
                writes_checklists=form.writes_checklists.data,
                actor=current_user,
            )
        except PersonRefused as refused:
            db.session.rollback()
            form.role.errors.append(
                _("You cannot change your own role.") if refused.code == "not_yourself" else _("Not allowed.")
            )
        else:
            db.session.commit()
            flash(_("Saved."))
            return see_other(url_for("people.index"))
    duties = [
        (site, duty)
        for site in user.sites
        if current_user.may_see_site(site.id)
        for duty in duties_of(db.session, site.id, on=local_day(site, utcnow()))
        if duty.cleaner_id == user.id
    ]
    return render(
        "people/edit.html",
        form=form,
        person=user,
        duties=duties,
        rule_of=lambda site: rule_for(db.session, site.id),
        status=422 if form.errors else 200,
    )


def _roles_to_give() -> dict[str, str]:
    """The roles this person may give, each by its first Chinese word (as an import writes it)."""
    roles: dict[str, str] = {}
    for chinese, role in ZH_ROLES.items():  # several words a role: the first names it
        if role != Role.ADMIN or current_user.role == Role.ADMIN:
            roles.setdefault(role.value, chinese)
    return roles


@bp.route("/import/template.xlsx")
@roles_required(OFFICE)
def people_template():
    """An empty list of people to fill in, with the roles, departments and sites it takes."""
    allowed = {
        PEOPLE_ZH_COLUMNS["role"]: list(_roles_to_give().values()),
        PEOPLE_ZH_COLUMNS["department"]: [d.code for d in db.session.scalars(select(Department))],
        PEOPLE_ZH_COLUMNS["sites"]: [s.code for s in visible_sites(current_user)],
    }
    return import_template("people-template", [PEOPLE_ZH_COLUMNS[c] for c in PEOPLE_COLUMNS], allowed)


@bp.route("/tenants/import/template.xlsx")
@roles_required(OFFICE)
def tenants_template():
    """An empty list of tenants to fill in, with the site codes it takes."""
    return import_template("tenants-template", COLUMNS, {"site": [s.code for s in visible_sites(current_user)]})


@bp.route("/import", methods=["GET", "POST"])
@roles_required(OFFICE)
def import_people():
    """Many people from a spreadsheet: a preview first, then apply; one bad row and nothing changes."""
    form = SheetForm()
    plan, confirm = None, None
    if form.validate_on_submit():
        data = form.file.data.read()
        plan = plan_people(db.session, current_user, form.file.data.filename or "people.csv", data, sheet_limits())
        confirm = carry(data, form.file.data.filename)
    return _people_preview(form, plan, confirm)


@bp.route("/import/apply", methods=["POST"])
@roles_required(OFFICE)
def apply_people_import():
    form, data = carried()
    plan = plan_people(db.session, current_user, form.filename.data, data, sheet_limits())
    if plan.problems:
        return _people_preview(SheetForm(formdata=None), plan, None)
    apply_people(db.session, plan, current_user)
    db.session.commit()
    flash(
        _("Applied: %(created)s people added, %(updated)s changed.", created=len(plan.create), updated=len(plan.update))
    )
    return see_other(url_for("people.index"))


def _people_preview(form, plan, confirm):
    problems = [_people_problem_text(p) for p in plan.problems] if plan else []
    return render(
        "people/import_people.html",
        form=form,
        plan=plan,
        confirm=confirm,
        problems=problems,
        columns=PEOPLE_COLUMNS,
        status=422 if problems or form.errors else 200,
    )


def _people_problem_text(problem) -> str:
    args = problem.args
    match problem.code:
        case code if file_problem_text(code, args):
            text = file_problem_text(code, args)
        case "duplicate":
            text = _("The same username as line %(line)s.", line=args[0])
        case "bad_username":
            text = _("“%(value)s” is not a username (3–64 letters, digits, dot, dash, underscore).", value=args[0])
        case "bad_name":
            text = _("The name is empty or longer than 120 characters.")
        case "unknown_role" | "not_allowed_role":
            roles = _roles_to_give()
            text = _(
                "“%(value)s” is not a role you may give: use %(allowed)s.", value=args[0], allowed=allowed_values(roles)
            )
        case "unknown_department":
            departments = {d.code: department_label(d.code) for d in db.session.scalars(select(Department))}
            text = _("No department “%(value)s”: use %(allowed)s.", value=args[0], allowed=allowed_values(departments))
        case "unknown_site":
            text = _unknown_site(args[0])
        case "no_site":
            text = _("Give at least one site.")
        case "short_password":
            text = _("A new person needs an initial password of at least %(n)s characters.", n=args[0])
        case "long_password":
            text = _("A password has at most %(n)s characters.", n=args[0])
        case "not_allowed_person":
            text = _("%(value)s is not someone you manage.", value=args[0])
        case _:
            text = TEXT_ERRORS.get(problem.code, problem.code)
    return _("Line %(line)s: %(text)s", line=problem.line, text=text) if problem.line else text


@bp.route("/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(OFFICE)
def password(user_id: int):
    """Set a new password for someone who forgot theirs."""
    user = _person(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        reset_password(db.session, user, form.password.data, actor=current_user)
        db.session.commit()
        flash(_("New password set for %(name)s.", name=user.display_name))
        return see_other(url_for("people.index"))
    return render("people/password.html", form=form, person=user, status=422 if form.errors else 200)


def _person(user_id: int) -> User:
    """Someone the person may manage, or 404: they need not learn who else exists."""
    user = db.session.get(User, user_id)
    if user is None or user not in _people() or not may_manage(current_user, user):
        abort(404)
    return user


@bp.route("/<int:user_id>/active", methods=["POST"])
@roles_required(OFFICE)
def set_person_active(user_id: int):
    """Deactivate someone who has left, or let them back in."""
    user = _person(user_id)
    form = Form()
    if not form.validate_on_submit():
        abort(400)
    active = not user.active
    try:
        set_active(db.session, user, active, actor=current_user)
    except PersonRefused:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(
        _("%(name)s can log in again.", name=user.display_name)
        if active
        else _("%(name)s can no longer log in or sync; their records stay.", name=user.display_name)
    )
    return see_other(url_for("people.index"))


@bp.route("/devices")
@roles_required(OFFICE)
def devices():
    """Phones that sync for the staff of the manager's sites; a lost phone is revoked here."""
    people = {person.id: person for person in _people() if may_manage(current_user, person)}
    found = db.session.scalars(select(Device).where(Device.user_id.in_(people)).order_by(Device.created_at.desc()))
    return render("people/devices.html", devices=list(found), people=people)


@bp.route("/devices/<uuid:device_id>/revoke", methods=["POST"])
@roles_required(OFFICE)
def revoke(device_id):
    """Stop a device's token at once (a lost or stolen phone)."""
    device = db.session.get(Device, device_id) or abort(404)
    if not may_manage(current_user, device.user):
        abort(404)
    revoke_device(db.session, device, now=utcnow(), by=current_user)
    db.session.commit()
    flash(_("The device of %(name)s can no longer sync.", name=device.user.display_name))
    return see_other(url_for("people.devices"))


@bp.route("/tenants/import", methods=["GET", "POST"])
@roles_required(OFFICE)
def import_tenants():
    """Tenants and units from a spreadsheet: checked whole and previewed first; one bad row and
    nothing changes."""
    form = SheetForm()
    errors: list[str] = []
    result, confirm = None, None
    if form.validate_on_submit():
        data = form.file.data.read()
        filename = form.file.data.filename or "tenants.csv"
        rows, problems = parse(db.session, filename, data, visible_site_ids(current_user), sheet_limits())
        errors = [_problem_text(p) for p in problems]
        if not errors:
            result = preview(db.session, rows)
            confirm = carry(data, filename)
    return render(
        "people/import.html",
        form=form,
        errors=errors,
        result=result,
        confirm=confirm,
        columns=COLUMNS,
        status=422 if errors or form.errors else 200,
    )


@bp.route("/tenants/import/apply", methods=["POST"])
@roles_required(OFFICE)
def apply_tenant_import():
    form, data = carried()
    rows, problems = parse(db.session, form.filename.data, data, visible_site_ids(current_user), sheet_limits())
    if problems:
        errors = [_problem_text(p) for p in problems]
        return render(
            "people/import.html",
            form=SheetForm(formdata=None),
            errors=errors,
            result=None,
            confirm=None,
            columns=COLUMNS,
            status=422,
        )
    result = apply(db.session, rows)
    db.session.commit()
    flash(
        _(
            "Imported: %(units)s new units, %(added)s new tenants, %(updated)s updated.",
            units=result.units_added,
            added=result.tenants_added,
            updated=result.tenants_updated,
        )
    )
    return see_other(url_for("people.import_tenants"))


def _unknown_site(code: str) -> str:
    codes = "、".join(site.code for site in visible_sites(current_user))
    return _("No site with the code “%(code)s” among yours: use %(allowed)s.", code=code, allowed=codes)


def _problem_text(problem: Problem) -> str:
    match problem.code, problem.args:
        case code, args if file_problem_text(code, args):
            text = file_problem_text(code, args)
        case "unknown_site", (code,):
            text = _unknown_site(code)
        case "too_long", (column, limit):
            text = _("%(column)s is longer than %(n)s characters.", column=column, n=limit)
        case "empty", (column,):
            text = _("%(column)s is empty.", column=column)
        case "control_character" | "invisible_character", (column,):
            text = f"{column}: {TEXT_ERRORS[problem.code]}"
        case _:
            text = _("%(column)s is not a date like 2026-11-26.", column=problem.args[0])
    return _("Line %(line)s: %(text)s", line=problem.line, text=text) if problem.line else text
