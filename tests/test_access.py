"""Who may open what: every role against every page, each cell asserted, and site scoping."""

import re
from datetime import date

import pytest
import sqlalchemy as sa

from foundation.org import Location, LocationKind, Site, User
from inspections.checklists import ChecklistTemplate
from inspections.fitout import FitoutProject, open_project
from tests.conftest import csrf_token, login, logout
from webapp.extensions import db

# Two supervisors: the manual's cleaning lead (领班) runs cleaning, the security supervisor
# (保安主管) runs the rounds and issues hot-work permits (§3.2: 到保安部办理动火证).
PEOPLE = {
    "guard": "zhangwei",
    "cleaner": "chenmei",
    "supervisor": "zhaoling",
    "security_supervisor": "liqiang",
    "engineer": "lihua",
    "customer_service": "liuxia",
    "manager": "wangjl",
    "admin": "admin",
}
ROLES = list(PEOPLE)
ok, forbidden, hidden = 200, 403, 404

# page → expected status per role (guard, cleaner, cleaning lead, security supervisor, engineer,
# customer_service, manager, admin).
MATRIX = {
    "today": [ok, ok, ok, ok, ok, ok, ok, ok],
    "tickets": [ok, ok, ok, ok, ok, ok, ok, ok],
    "new_call": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "due_times": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "place_history": [ok, forbidden, ok, ok, ok, ok, ok, ok],
    "people": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "reset_password_of_cleaner": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "devices": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "webhooks": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "import_tenants": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "tenants_template": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "people_template": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "places_template": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "offline_shell": [ok, ok, ok, ok, ok, ok, ok, ok],
    "install": [ok, ok, ok, ok, ok, ok, ok, ok],
    "patrol_board": [forbidden, forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "patrol_walk": [ok, forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "patrol_routes": [forbidden, forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "patrol_codes": [forbidden, forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "guard_week": [forbidden, forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "cleaning_board": [forbidden, forbidden, ok, forbidden, forbidden, ok, ok, ok],
    "cleaning_scores": [forbidden, ok, ok, forbidden, forbidden, ok, ok, ok],
    "cleaning_scores_xlsx": [forbidden, ok, ok, forbidden, forbidden, ok, ok, ok],
    "cleaning_setup": [forbidden, forbidden, ok, forbidden, forbidden, forbidden, ok, ok],
    "other_site_cleaning_scores": [forbidden, hidden, hidden, forbidden, forbidden, hidden, hidden, ok],
    "fitouts": [ok, forbidden, ok, ok, ok, ok, ok, ok],
    "fitout_project": [ok, forbidden, ok, ok, ok, ok, ok, ok],
    "register_fitout": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "other_site_fitout": [hidden, forbidden, hidden, hidden, hidden, hidden, hidden, ok],
    "restroom_checklist": [forbidden, ok, ok, ok, forbidden, ok, ok, ok],
    "fitout_engineering_checklist": [forbidden, forbidden, forbidden, forbidden, ok, forbidden, ok, ok],
    "patrol_checklist": [ok, forbidden, ok, ok, forbidden, forbidden, ok, ok],
    # The B2 leak: reported by the guard, assigned to the engineer.
    "hazard_ticket": [ok, hidden, ok, ok, ok, ok, ok, ok],
    # The noise complaint: customer service's department.
    "complaint_ticket": [hidden, hidden, ok, ok, hidden, ok, ok, ok],
    # Another site's repair: only the admin works at both.
    "other_site_ticket": [hidden, hidden, hidden, hidden, hidden, hidden, hidden, ok],
    "other_site_checklist": [hidden, hidden, hidden, hidden, hidden, hidden, hidden, ok],
    "console": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "console_tickets": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "console_tickets_csv": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "console_inspections_xlsx": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "other_site_console": [forbidden, forbidden, forbidden, forbidden, forbidden, hidden, hidden, ok],
    "hazard_ticket_pdf": [ok, hidden, ok, ok, ok, ok, ok, ok],
    "console_inspections": [forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok, ok],
    "cleaning_scores_pdf": [forbidden, ok, ok, forbidden, forbidden, ok, ok, ok],
    "patrol_route_edit": [forbidden, forbidden, forbidden, ok, forbidden, forbidden, ok, ok],
    "outbox": [ok, ok, ok, ok, ok, ok, ok, ok],
    "other_site_ticket_pdf": [hidden, hidden, hidden, hidden, hidden, hidden, hidden, ok],
    # Managers write checklists (and anyone a manager lets: test_checklist_builder_pages).
    "checklists": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "new_checklist": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "checklist_builder": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "checklist_new_item": [
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        ok,
    ],  # company-wide: administrators (a site's own: its managers)
    "checklist_item": [
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        ok,
    ],  # company-wide: administrators (a site's own: its managers)
    "checklist_versions": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "checklist_xlsform": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "checklist_import": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
    "checklist_library": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, ok, ok],
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
                xh_unit = db.session.scalar(
                    sa.select(Location).join(Site).where(Site.code == code, Location.kind == LocationKind.UNIT)
                )
                admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
                found = open_project(
                    db.session,
                    site=xh_unit.site,
                    unit=xh_unit,
                    contractor="新华装饰",
                    permit_number="XH-1",
                    starts_on=date(2026, 11, 1),
                    ends_on=date(2026, 12, 1),
                    deposit_cents=100_000,
                    actor=admin,
                ).id
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
            "tenants_template": "/people/tenants/import/template.xlsx",
            "people_template": "/people/import/template.xlsx",
            "places_template": f"/places/sites/{db.session.scalar(sa.select(Site.id).where(Site.code == 'BY'))}"
            "/import/template.xlsx",
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
            "console_inspections": "/console/inspections",
            "cleaning_scores_pdf": "/cleaning/scores.pdf",
            "patrol_route_edit": "/patrol/routes/1",
            "outbox": "/outbox",
            "other_site_ticket_pdf": "/tickets/XH-20261126-0001.pdf",
            "checklists": "/builder",
            "new_checklist": "/builder/new",
            "checklist_builder": f"/builder/{restroom}",
            "checklist_new_item": f"/builder/{restroom}/items/new",
            "checklist_item": f"/builder/{restroom}/items/fixtures",
            "checklist_versions": f"/builder/{restroom}/versions",
            "checklist_xlsform": f"/builder/{restroom}/xlsform.xlsx",
            "checklist_import": "/builder/import",
            "checklist_library": "/builder/library",
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
    got = [
        client.post(f"{path}?site={by}", data={"csrf_token": token}).status_code
        for path in ("/cleaning/rule", "/cleaning/duties", "/cleaning/tasks")
    ]
    allowed = {"rule": role in ("manager", "admin"), "plan": role in ("supervisor", "manager", "admin")}
    assert got == [422 if allowed["rule"] else 403] + [422 if allowed["plan"] else 403] * 2


@pytest.mark.parametrize("role", ROLES)
def test_who_may_run_a_fit_out_and_its_deposit(app, client, demo, role):
    with app.app_context():
        project_id = db.session.scalar(sa.select(FitoutProject.id))
    login(client, PEOPLE[role])
    token = csrf_token(client, "/today")
    got = {
        action: client.post(f"/fitout/{project_id}/{action}", data={"csrf_token": token}).status_code
        for action in ("advance", "penalty", "refund", "permits")
    }
    runs = role in ("customer_service", "manager", "admin")
    office = role in ("manager", "admin")
    # Empty forms: the form again with what to fix (422), or a step that cannot be taken now (409).
    assert got == {
        "advance": 409 if runs else 403,
        "penalty": 422 if runs else 403,
        "refund": 409 if office else 403,
        "permits": 422 if runs or role == "security_supervisor" else 403,
    }


# action → expected status per role, for a POST with nothing but the form's token. A person who
# may act reaches the form's own checks: 422 (the form again, with what to fix), 400 (a state
# change that names no state), 409 (a call-back before the complaint is resolved), or the step is
# done (303). A person who may not act gets 403, or 404 where they may not even see the record.
# Supervisors handle tickets of their department's work; the admin works at both sites.
ACTIONS = {
    "comment_on_hazard": [422, hidden, 422, 422, 422, 422, 422, 422],
    "comment_on_complaint": [hidden, hidden, 422, 422, hidden, 422, 422, 422],
    "comment_on_other_site_ticket": [hidden, hidden, hidden, hidden, hidden, hidden, hidden, 422],
    "move_hazard": [400, hidden, 400, 400, 400, 400, 400, 400],
    "assign_hazard": [forbidden, forbidden, forbidden, forbidden, forbidden, 422, 422, 422],
    "assign_other_site_ticket": [forbidden, forbidden, hidden, hidden, forbidden, hidden, hidden, 422],
    "call_back_complaint": [forbidden, forbidden, 409, 409, forbidden, 409, 409, 409],
    "rotate_checkpoint_code": [forbidden, forbidden, forbidden, 303, forbidden, forbidden, 303, 303],
    "revoke_cleaners_phone": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 303, 303],
    "deactivate_cleaner": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 303, 303],
    "start_checklist_draft": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 303],
    "move_checklist_item": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 303],
    "add_checklist_section": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 303],
    "discard_checklist_draft": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 303],
    "copy_library_checklist": [forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, 400, 400],
}


def _action_urls(app, client) -> dict[str, str]:
    from tests.sync_client import get_token

    get_token(client, "chenmei")  # her phone, for a manager to revoke
    with app.app_context():
        from foundation.org import Device

        device = db.session.scalar(sa.select(Device.id))
        restroom = db.session.scalar(
            sa.select(ChecklistTemplate.id).where(ChecklistTemplate.title == "清洁标准：卫生间")
        )
        cleaner = db.session.scalar(sa.select(User.id).where(User.username == "chenmei"))
        checkpoint = db.session.scalar(
            sa.select(Location.id)
            .where(Location.kind == LocationKind.CHECKPOINT)
            .join(Site)
            .where(Site.code == "BY")
            .order_by(Location.id)
        )
    hazard, complaint, other = "BY-20261126-0001", "BY-20261126-0003", "XH-20261126-0001"
    return {
        "comment_on_hazard": f"/tickets/{hazard}/comment",
        "comment_on_complaint": f"/tickets/{complaint}/comment",
        "comment_on_other_site_ticket": f"/tickets/{other}/comment",
        "move_hazard": f"/tickets/{hazard}/transition",
        "assign_hazard": f"/tickets/{hazard}/assign",
        "assign_other_site_ticket": f"/tickets/{other}/assign",
        "call_back_complaint": f"/tickets/{complaint}/callback",
        "rotate_checkpoint_code": f"/patrol/routes/1/checkpoints/{checkpoint}/rotate",
        "revoke_cleaners_phone": f"/people/devices/{device}/revoke",
        "deactivate_cleaner": f"/people/{cleaner}/active",
        "start_checklist_draft": f"/builder/{restroom}/draft",
        "move_checklist_item": f"/builder/{restroom}/items/fixtures/down",
        "add_checklist_section": f"/builder/{restroom}/sections",
        "discard_checklist_draft": f"/builder/{restroom}/discard",
        "copy_library_checklist": "/builder/library/cleaning_lobby/copy",
    }


@pytest.mark.parametrize("role", ROLES)
def test_role_by_action(app, client, demo, role):
    urls = _action_urls(app, client)
    login(client, PEOPLE[role])
    token = csrf_token(client, "/today")
    got = {action: client.post(urls[action], data={"csrf_token": token}).status_code for action in ACTIONS}
    expected = {action: row[ROLES.index(role)] for action, row in ACTIONS.items()}
    assert got == expected


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
    public = {"static", "auth.login", "auth.logout", "healthz", "auth.first_run"}  # first run: only while nobody exists
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in public:
            continue
        assert hasattr(view, "allowed_roles") or rule.endpoint == "auth.language", rule.endpoint


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app, client, demo):
    login(client, "wangjl")
    response = client.post(
        "/people",
        data={"username": "newbie", "display_name": "新人", "role": "cleaner", "sites": "1", "password": "longenough"},
    )
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "newbie")) is None
    assert client.post("/language", data={"locale": "zh"}).status_code == 400
    assert client.get("/today").status_code == 200  # still logged in


def test_logout_revokes_the_browsers_device_token(app, client, demo):
    login(client, "chenmei")
    token = client.post("/device-token", headers={"X-CSRFToken": csrf_token(client, "/today")}).get_json()["token"]
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    refused = client.post("/logout")  # a form post like any other: another site's page cannot log anyone out
    assert refused.status_code == 400 and client.get("/today").status_code == 200
    response = logout(client)
    assert response.status_code == 303
    assert "Clear-Site-Data" not in response.headers  # another person's unsent work may be on the phone
    assert client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/today").status_code == 302


def test_htmx_requests_send_the_token_in_a_header(app, client, demo):
    login(client, "wangjl")
    token = csrf_token(client, "/today")
    response = client.post(
        "/tickets/BY-20261126-0002/comment",
        data={"text": "已联系客户"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 303
    assert "已联系客户" in client.get("/tickets/BY-20261126-0002").get_data(as_text=True)


def test_a_manager_revokes_a_lost_phone(app, client, demo):
    from tests.sync_client import auth, get_token

    token = get_token(client, "chenmei", device_name="陈梅的手机")
    other_site = get_token(client, "zhoufang")
    login(client, "wangjl")
    page = client.get("/people/devices").get_data(as_text=True)
    assert "陈梅 · 陈梅的手机" in page and "周芳" not in page  # only the manager's own sites
    device_id = re.search(r"/people/devices/([0-9a-f-]{36})/revoke", page).group(1)
    response = client.post(f"/people/devices/{device_id}/revoke", data={"csrf_token": csrf_token(client, "/today")})
    assert response.status_code == 303
    assert client.get("/api/v1/sync/pull", headers=auth(token)).status_code == 401
    assert client.get("/api/v1/sync/pull", headers=auth(other_site)).status_code == 200


# Routes whose rule a test other than the page matrix asserts (posts, files, the API), and which.
ELSEWHERE = {
    "webhooks.set_active": "test_webhooks::test_a_manager_pauses_resumes_and_deletes_a_webhook_of_their_site_only",
    "webhooks.delete": "test_webhooks::test_a_manager_pauses_resumes_and_deletes_a_webhook_of_their_site_only",
    "api.create_token": "test_sync_api::test_wrong_credentials_then_rate_limited",
    "api.delete_token": "test_sync_api::test_a_revoked_token_stops_at_once",
    "api.photo_exists": "test_sync_api::test_an_inspection_with_a_failed_item_opens_one_ticket_and_awaits_its_photo",
    "api.photo_upload": "test_photo_fuzz::test_damaged_images_never_break_the_server_and_refused_ones_leave_nothing",
    "api.pull_changes": "test_sync_api::test_a_person_pulls_nothing_of_another_site",
    "api.push": "test_sync_api::test_missing_or_unknown_tokens_get_401",
    "api.push_key": "test_web_push::test_the_server_does_not_push_to_its_own_network_unless_allowed",
    "api.push_subscribe": "test_web_push::test_the_server_does_not_push_to_its_own_network_unless_allowed",
    "api.push_unsubscribe": "test_web_push::test_a_phone_that_stops_pushes_gets_none_and_only_its_own_stop",
    "api.report_drafts": "test_checklist_builder_pages::test_phones_report_their_drafts_and_the_author_sees_them",
    "checklists.item": "test_checklist_builder_pages::test_a_manager_builds_previews_and_publishes",
    "checklists.item_action": "test_checklist_builder_pages::test_a_manager_builds_previews_and_publishes",
    "checklists.preview": "test_checklist_builder_pages::test_who_may_write_checklists",
    "checklists.publish": "test_checklist_builder_pages::test_who_may_write_checklists",
    "checklists.section": "test_checklist_builder_pages::test_a_manager_builds_previews_and_publishes",
    "checklists.import_xlsform": "test_checklist_builder_pages::test_an_xlsform_comes_in_as_a_draft_or_is_refused_by_row",
    "auth.language": "test_language::test_a_bad_language_choice_changes_nothing",
    "auth.logout": "test_access::test_logout_revokes_the_browsers_device_token",
    "cleaning.add_duty": "test_access::test_only_managers_set_the_scoring_rule_and_only_planners_assign_areas",
    "cleaning.add_task": "test_access::test_only_managers_set_the_scoring_rule_and_only_planners_assign_areas",
    "cleaning.set_rule": "test_access::test_only_managers_set_the_scoring_rule_and_only_planners_assign_areas",
    "field.home": "test_access::test_home_sends_everyone_to_today",
    "field.inspection": "test_access::test_an_inspection_is_seen_by_its_inspector_and_the_sites_handlers_only",
    "field.inspection_printout": "test_console::test_an_inspection_prints_with_the_failed_item_and_its_photo",
    "field.read_notice": "test_access::test_a_notice_is_marked_read_by_its_own_person_only",
    "field.notifications": "test_web_push::test_each_person_chooses_what_is_pushed_and_when_for_themselves",
    "fitout.add_permit": "test_access::test_who_may_run_a_fit_out_and_its_deposit",
    "fitout.advance_project": "test_access::test_who_may_run_a_fit_out_and_its_deposit",
    "fitout.penalty": "test_access::test_who_may_run_a_fit_out_and_its_deposit",
    "fitout.refund": "test_access::test_who_may_run_a_fit_out_and_its_deposit",
    "fitout.notice": "test_fitout::test_the_rectification_notice_carries_the_deadline_and_the_photos",
    "fitout.stamped": "test_fitout::test_the_stamped_copy_differs_from_the_original_whose_hash_is_kept_for_a_manager",
    "patrol.codes_pdf": "test_patrol::test_guards_and_cleaners_cannot_print_or_rotate",
    "photos.original": "test_fitout::test_the_stamped_copy_differs_from_the_original_whose_hash_is_kept_for_a_manager",
    "photos.show": "test_photos::test_a_photo_is_served_to_those_who_may_see_it_only",
    "photos.thumb": "test_photos::test_a_photo_is_served_to_those_who_may_see_it_only",
    "people.edit": "test_people_admin::test_a_manager_edits_roles_and_sites_within_their_own",
    "people.import_people": "test_people_admin::test_bad_rows_are_named_and_nobody_is_added",
    "people.apply_people_import": "test_people_admin::test_a_manager_imports_people_after_a_preview",
    "schedules.index": "test_schedules_pages::test_who_may_plan",
    "schedules.month": "test_schedules_pages::test_who_may_plan",
    "schedules.stop": "test_schedules_pages::test_stopping_a_schedule_keeps_what_it_made",
    "people.apply_tenant_import": "test_tenant_import::test_importing_tenants_adds_units_and_updates_contacts_once",
    "places.index": "test_places_pages::test_field_staff_may_not_manage_places",
    "places.site": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "places.place": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "places.archive": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "places.restore": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "places.export": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "places.import_tree": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "places.apply_import": "test_places_pages::test_a_manager_sees_and_changes_only_their_own_sites",
    "pwa.device_token": "test_sessions::test_a_phone_that_holds_a_live_token_keeps_it_in_a_new_session",
}
PUBLIC = {"static", "healthz", "auth.login", "auth.first_run", "pwa.manifest", "pwa.service_worker", "api.openapi"}


def test_every_route_is_in_the_matrix_or_names_the_test_that_checks_who_may_use_it(app, demo):
    """A new route fails here until a row of MATRIX or an entry of ELSEWHERE covers it."""
    import importlib
    from urllib.parse import urlsplit

    adapter = app.url_map.bind("localhost")
    in_matrix = {adapter.match(urlsplit(url).path)[0] for url in _urls(app).values()}
    in_matrix |= {adapter.match(url, method="POST")[0] for url in _action_urls(app, app.test_client()).values()}
    for endpoint, test in ELSEWHERE.items():
        module, name = test.split("::")
        assert hasattr(importlib.import_module(f"tests.{module}"), name), f"{endpoint}: no test {test}"
    routes = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert routes - in_matrix - set(ELSEWHERE) - PUBLIC == set()
    assert set(ELSEWHERE) | PUBLIC <= routes  # nothing listed that no longer exists


def test_home_sends_everyone_to_today(app, client, demo):
    assert client.get("/").status_code == 302  # not logged in: to the login page
    login(client, "zhangwei")
    response = client.get("/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/today")


def test_an_inspection_is_seen_by_its_inspector_and_the_sites_handlers_only(app, demo):
    from foundation.org import Origin
    from inspections.submission import submit_inspection
    from tests.helpers import NOW, all_pass, area, restroom_template, submission

    with app.app_context():
        tpl = restroom_template()
        made = submit_inspection(
            db.session,
            submission(tpl, area("BY", "restroom"), all_pass(tpl)),
            actor=db.session.scalar(sa.select(User).where(User.username == "chenmei")),
            origin=Origin("web"),
            now=NOW,
        )
        db.session.commit()
        url = f"/inspections/{made.inspection.id}"
    got = {}
    for username in ("chenmei", "huangli", "zhangwei", "zhaoling", "liuxia", "wangjl", "hemin"):
        client = app.test_client()
        login(client, username)
        got[username] = client.get(url).status_code
    # the cleaner who made it, the site's supervisor, desk and manager; not another cleaner, a guard,
    # or the other site's manager
    assert got == {
        "chenmei": ok,
        "huangli": hidden,
        "zhangwei": hidden,
        "zhaoling": ok,
        "liuxia": ok,
        "wangjl": ok,
        "hemin": hidden,
    }


def test_a_notice_is_marked_read_by_its_own_person_only(app, demo):
    from foundation.notices import Notice, notify
    from tests.helpers import NOW

    with app.app_context():
        manager = db.session.scalar(sa.select(User).where(User.username == "wangjl"))
        notify(
            db.session,
            manager,
            key="test",
            what="text",
            facts={"title": "工单逾期", "body": ""},
            link="/tickets",
            now=NOW,
        )
        db.session.commit()
        notice_id = db.session.scalar(sa.select(Notice.id).where(Notice.key == "test"))
    other = app.test_client()
    login(other, "liuxia")
    assert (
        other.post(f"/notices/{notice_id}/read", headers={"X-CSRFToken": csrf_token(other, "/today")}).status_code
        == 404
    )
    mine = app.test_client()
    login(mine, "wangjl")
    response = mine.post(f"/notices/{notice_id}/read", headers={"X-CSRFToken": csrf_token(mine, "/today")})
    assert response.status_code == 303 and response.headers["Location"].endswith("/tickets")
    with app.app_context():
        assert db.session.get(Notice, notice_id).read_at is not None
