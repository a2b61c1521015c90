"""Who may open what: every role against every page, each cell asserted, and site scoping."""
import re

import pytest
import sqlalchemy as sa

from datetime import date

from inspections.checklists import ChecklistTemplate
from inspections.fitout import FitoutProject, open_project
from inspections.org import Location, LocationKind, Site, User
from tests.conftest import csrf_token, login
from webapp.extensions import db

PEOPLE = {
    "guard": "zhangwei", "cleaner": "chenmei", "supervisor": "zhaoling", "engineer": "lihua",
    "customer_service": "liuxia", "manager": "wangjl", "admin": "admin",
}
ROLES = list(PEOPLE)
ok, forbidden, hidden = 200, 403, 404

# page → expected status per role (guard, cleaner, supervisor, engineer, customer_service, manager, admin).
MATRIX = {
    "today": [ok, ok, ok, ok, ok, ok, ok],
    "tickets": [ok, ok, ok, ok, ok, ok, ok],
    "new_call": [forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "due_times": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "place_history": [ok, forbidden, ok, ok, ok, ok, ok],
    "people": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "reset_password_of_cleaner": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "devices": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "webhooks": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "import_tenants": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "offline_shell": [ok, ok, ok, ok, ok, ok, ok],
    "install": [ok, ok, ok, ok, ok, ok, ok],
    "patrol_board": [forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "patrol_walk": [ok, forbidden, ok, forbidden, forbidden, ok, ok],
    "patrol_routes": [forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "patrol_codes": [forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "guard_week": [forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "cleaning_board": [forbidden, forbidden, ok, forbidden, ok, ok, ok],
    "cleaning_scores": [forbidden, ok, ok, forbidden, ok, ok, ok],
    "cleaning_scores_xlsx": [forbidden, ok, ok, forbidden, ok, ok, ok],
    "cleaning_setup": [forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "other_site_cleaning_scores": [forbidden, hidden, hidden, forbidden, hidden, hidden, ok],
    "fitouts": [ok, forbidden, ok, ok, ok, ok, ok],
    "fitout_project": [ok, forbidden, ok, ok, ok, ok, ok],
    "register_fitout": [forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "other_site_fitout": [hidden, forbidden, hidden, hidden, hidden, hidden, ok],
    "restroom_checklist": [forbidden, ok, ok, forbidden, ok, ok, ok],
    "fitout_engineering_checklist": [forbidden, forbidden, forbidden, ok, forbidden, ok, ok],
    "patrol_checklist": [ok, forbidden, ok, forbidden, forbidden, ok, ok],
    # The B2 leak: reported by the guard, assigned to the engineer.
    "hazard_ticket": [ok, hidden, ok, ok, ok, ok, ok],
    # The noise complaint: customer service's department.
    "complaint_ticket": [hidden, hidden, ok, hidden, ok, ok, ok],
    # Another site's repair: only the admin works at both.
    "other_site_ticket": [hidden, hidden, hidden, hidden, hidden, hidden, ok],
    "other_site_checklist": [hidden, hidden, hidden, hidden, hidden, hidden, ok],
    "console": [forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "console_tickets": [forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "console_tickets_csv": [forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "console_inspections_xlsx": [forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "other_site_console": [forbidden, forbidden, forbidden, forbidden, hidden, hidden, ok],
    "hazard_ticket_pdf": [ok, hidden, ok, ok, ok, ok, ok],
    "other_site_ticket_pdf": [hidden, hidden, hidden, hidden, hidden, hidden, ok],
}


def _urls(app) -> dict[str, str]:
    with app.app_context():
        def tpl(title):
            return db.session.scalar(sa.select(ChecklistTemplate.id).where(ChecklistTemplate.title == title))

        def loc(site, **where):
            query = sa.select(Location.id).join(Site).where(Site.code == site).order_by(Location.id)
            for key, value in where.items():
                query = query.where(getattr(Location, key) == value)
            return db.session.scalars(query).first()

        def site_id(code):
            return db.session.scalar(sa.select(Site.id).where(Site.code == code))

        def project_id(code):
            found = db.session.scalar(sa.select(FitoutProject.id).join(Site).where(Site.code == code))
            if found is None:  # the demo has none at XH: make one there
                xh_unit = db.session.scalar(sa.select(Location).join(Site).where(
                    Site.code == code, Location.kind == LocationKind.UNIT))
                admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
                found = open_project(db.session, site=xh_unit.site, unit=xh_unit, contractor="新华装饰",
                                     permit_number="XH-1", starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 1),
                                     deposit_cents=100_000, actor=admin).id
                db.session.commit()
            return found

        cleaner = db.session.scalar(sa.select(User.id).where(User.username == "chenmei"))
        guard = db.session.scalar(sa.select(User.id).where(User.username == "zhangwei"))
        restroom = tpl("清洁标准：卫生间")
        return {
            "today": "/today",
            "tickets": "/tickets",
            "new_call": "/tickets/new",
            "due_times": "/tickets/due-times",
            "place_history": f"/tickets/places/{loc('BY', area_type='restroom')}",
            "people": "/people",
            "reset_password_of_cleaner": f"/people/{cleaner}/password",
            "devices": "/people/devices",
            "webhooks": "/webhooks",
            "import_tenants": "/people/tenants/import",
            "offline_shell": "/offline",
            "install": "/install",
            "patrol_board": "/patrol",
            "patrol_walk": "/patrol/routes/1/walk",
            "patrol_routes": "/patrol/routes",
            "patrol_codes": "/patrol/routes/1/codes",
            "guard_week": f"/patrol/guards/{guard}",
            "cleaning_board": "/cleaning",
            "cleaning_scores": "/cleaning/scores",
            "cleaning_scores_xlsx": "/cleaning/scores.xlsx",
            "cleaning_setup": "/cleaning/setup",
            "other_site_cleaning_scores": f"/cleaning/scores?site={site_id('XH')}",
            "fitouts": "/fitout",
            "fitout_project": f"/fitout/{project_id('BY')}",
            "register_fitout": "/fitout/new",
            "other_site_fitout": f"/fitout/{project_id('XH')}",
            "restroom_checklist": f"/checklists/{restroom}?location={loc('BY', area_type='restroom')}",
            "fitout_engineering_checklist": f"/checklists/{tpl('二装日常巡查：工程部')}?location={loc('BY', kind=LocationKind.UNIT)}",
            "patrol_checklist": f"/checklists/{tpl('巡更点检查')}?location={loc('BY', kind=LocationKind.CHECKPOINT)}",
            "hazard_ticket": "/tickets/BY-20261126-0001",
            "complaint_ticket": "/tickets/BY-20261126-0003",
            "other_site_ticket": "/tickets/XH-20261126-0001",
            "other_site_checklist": f"/checklists/{restroom}?location={loc('XH', area_type='restroom')}",
            "console": "/console",
            "console_tickets": "/console/tickets?state=all",
            "console_tickets_csv": "/console/tickets.csv",
            "console_inspections_xlsx": "/console/inspections.xlsx",
            "other_site_console": f"/console?site={site_id('XH')}",
            "hazard_ticket_pdf": "/tickets/BY-20261126-0001.pdf",
            "other_site_ticket_pdf": "/tickets/XH-20261126-0001.pdf",
        }


@pytest.mark.parametrize("role", ROLES)
def test_role_by_page(app, client, demo, role):
    urls = _urls(app)
    login(client, PEOPLE[role])
    got = {page: client.get(urls[page]).status_code for page in MATRIX}
    expected = {page: row[ROLES.index(role)] for page, row in MATRIX.items()}
    assert got == expected


@pytest.mark.parametrize("role", ROLES)
def test_only_managers_set_the_scoring_rule_and_only_planners_assign_areas(app, client, demo, role):
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
    login(client, PEOPLE[role])
    token = csrf_token(client, "/today")
    # Empty forms: an allowed person gets the form back with what to fix (422), nobody else gets in.
    got = [client.post(f"{path}?site={by}", data={"csrf_token": token}).status_code
           for path in ("/cleaning/rule", "/cleaning/duties", "/cleaning/tasks")]
    allowed = {"rule": role in ("manager", "admin"), "plan": role in ("supervisor", "manager", "admin")}
    assert got == [422 if allowed["rule"] else 403] + [422 if allowed["plan"] else 403] * 2


@pytest.mark.parametrize("role", ROLES)
def test_who_may_run_a_fit_out_and_its_deposit(app, client, demo, role):
    with app.app_context():
        project_id = db.session.scalar(sa.select(FitoutProject.id))
    login(client, PEOPLE[role])
    token = csrf_token(client, "/today")
    got = {action: client.post(f"/fitout/{project_id}/{action}", data={"csrf_token": token}).status_code
           for action in ("advance", "penalty", "refund", "permits")}
    runs = role in ("customer_service", "manager", "admin")
    office = role in ("manager", "admin")
    # Empty forms: the form again with what to fix (422), or a step that cannot be taken now (409).
    assert got == {"advance": 409 if runs else 403, "penalty": 422 if runs else 403,
                   "refund": 409 if office else 403, "permits": 422 if runs or role == "supervisor" else 403}


def test_a_guard_of_the_other_site_sees_nothing_of_this_one(app, client, demo):
    login(client, "sunqiang")
    today = client.get("/today").get_data(as_text=True)
    tickets = client.get("/tickets?state=all").get_data(as_text=True)
    assert "新华路商务楼" in today and "柏彦大厦" not in today
    assert "BY-" not in tickets


def test_a_manager_sees_and_resets_only_staff_of_their_sites(app, client, demo):
    login(client, "hemin")
    people = client.get("/people").get_data(as_text=True)
    assert "孙强" in people and "陈梅" not in people
    assert client.get(_urls(app)["reset_password_of_cleaner"]).status_code == 404


def test_logged_out_visitors_are_sent_to_login(app, client, demo):
    for url in ["/today", "/tickets", "/people", "/tickets/BY-20261126-0001"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_route_states_who_may_use_it(app):
    """A new view without a rule fails here."""
    public = {"static", "auth.login", "auth.logout", "healthz"}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in public:
            continue
        assert hasattr(view, "allowed_roles") or rule.endpoint == "auth.language", rule.endpoint


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app, client, demo):
    login(client, "wangjl")
    response = client.post("/people", data={"username": "newbie", "display_name": "新人", "role": "cleaner",
                                            "sites": "1", "password": "longenough"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "newbie")) is None
    assert client.post("/language", data={"locale": "zh"}).status_code == 400
    assert client.get("/today").status_code == 200  # still logged in


def test_logout_revokes_the_browsers_device_token_and_clears_the_site(app, client, demo):
    login(client, "chenmei")
    token = client.post("/device-token", headers={"X-CSRFToken": csrf_token(client, "/today")}).get_json()["token"]
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    response = client.post("/logout")  # no form token needed: SameSite=Lax keeps other sites out
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/today").status_code == 302


def test_htmx_requests_send_the_token_in_a_header(app, client, demo):
    login(client, "wangjl")
    token = csrf_token(client, "/today")
    response = client.post("/tickets/BY-20261126-0002/comment", data={"text": "已联系客户"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303
    assert "已联系客户" in client.get("/tickets/BY-20261126-0002").get_data(as_text=True)


def test_a_manager_revokes_a_lost_phone(app, client, demo):
    from tests.sync_client import auth, get_token

    token = get_token(client, "chenmei", device_name="陈梅的手机")
    other_site = get_token(client, "zhoufang")
    login(client, "wangjl")
    page = client.get("/people/devices").get_data(as_text=True)
    assert "陈梅 · 陈梅的手机" in page and "周芳" not in page  # only the manager's own sites
    device_id = re.search(r'/people/devices/([0-9a-f-]{36})/revoke', page).group(1)
    response = client.post(f"/people/devices/{device_id}/revoke", data={"csrf_token": csrf_token(client, "/today")})
    assert response.status_code == 303
    assert client.get("/api/v1/sync/pull", headers=auth(token)).status_code == 401
    assert client.get("/api/v1/sync/pull", headers=auth(other_site)).status_code == 200
