"""管理 → 项目与位置 in the browser's terms: a manager adds a site and its places, imports a tree
with a preview first, and a refusal shows what to fix and changes nothing."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from foundation.org import Location, Origin, Site, User
from inspections.patrol import PatrolRoute
from inspections.records import Inspection
from inspections.routing import RoutingRule
from inspections.submission import submit_inspection
from tests.conftest import login, logout, post_form
from tests.helpers import NOW, all_pass, area, restroom_template, submission
from webapp.extensions import db

TREE = "楼栋,楼层,位置,类型,保洁区域类型,已停用\n新楼,1F,大堂,区域,大堂,\n新楼,1F,男卫生间,区域,卫生间,\n新楼,2F,201,单元,,\n"


def upload(client, path, text: str, name="places.csv"):
    return post_form(
        client, path, {"file": (io.BytesIO(text.encode()), name)}, token_from=path, content_type="multipart/form-data"
    )


def test_a_manager_adds_a_site_then_imports_its_tree_after_a_preview(app, demo, client):
    login(client, "wangjl")
    response = post_form(
        client,
        "/places",
        {"name": "滨江中心", "code": "BJ", "timezone": "Asia/Shanghai", "address": ""},
        token_from="/places",
    )
    assert response.status_code == 303
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.code == "BJ"))
        site_id = site.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "滨江中心" in page and "No places yet" in page

    preview = upload(client, f"/places/sites/{site_id}/import", TREE)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "6 to create" in html and "Apply these changes" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Location.id)).where(Location.site_id == site_id)) == 0
    fields = dict(re.findall(r'name="(sheet|filename|digest)"[^>]*value="([^"]*)"', html))
    applied = post_form(client, f"/places/sites/{site_id}/import/apply", fields, token_from="/places")
    assert applied.status_code == 303
    tree = client.get(f"/places/sites/{site_id}").get_data(as_text=True)
    assert "Applied: 6 created" in tree and "男卫生间" in tree and "Restroom" in tree

    again = post_form(client, f"/places/sites/{site_id}/import/apply", fields, token_from="/places")
    assert "changed since the preview" in again.get_data(as_text=True)  # the same confirmation twice


def test_a_bad_row_is_named_and_nothing_changes(app, demo, client):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        before = db.session.scalar(sa.select(sa.func.count(Location.id)).where(Location.site_id == by.id))
    response = upload(client, f"/places/sites/{by.id}/import", TREE + "新楼,2F,202,房间,,\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 5: “房间” is not a kind of place: use 单元 (unit)、区域 (area)、巡更点 (checkpoint)." in html
    assert "Apply these changes" not in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Location.id)).where(Location.site_id == by.id)) == before


def test_an_archived_area_leaves_pickers_and_keeps_its_history(app, demo, client):
    login(client, "wangjl")
    with app.app_context():
        restroom = db.session.scalars(
            sa.select(Location).where(Location.area_type == "restroom").order_by(Location.id)
        ).first()
        restroom_id, name = restroom.id, restroom.full_name
    assert post_form(client, f"/places/{restroom_id}/archive", {}, token_from="/places").status_code == 303
    new_ticket = client.get("/tickets/new").get_data(as_text=True)
    assert f'value="{restroom_id}"' not in new_ticket
    with app.app_context():
        assert db.session.get(Location, restroom_id).archived_at is not None  # archived, not deleted
    assert post_form(client, f"/places/{restroom_id}/restore", {}, token_from="/places").status_code == 303
    assert f"{name.split(' · ')[-1]}" in client.get("/tickets/new").get_data(as_text=True)


def test_a_manager_sees_and_changes_only_their_own_sites(app, demo, client):
    login(client, "hemin")  # manager of XH only
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        by_place = db.session.scalars(sa.select(Location).where(Location.site_id == by.id)).first()
    assert client.get(f"/places/sites/{by.id}").status_code == 404
    assert client.get(f"/places/sites/{by.id}/places.csv").status_code == 404
    for path in (f"/places/{by_place.id}", f"/places/sites/{by.id}/import"):
        assert client.get(path).status_code == 404
    for path in (
        f"/places/{by_place.id}/archive",
        f"/places/{by_place.id}/restore",
        f"/places/sites/{by.id}/import/apply",
    ):
        assert post_form(client, path, {}, token_from="/places").status_code == 404


def test_field_staff_may_not_manage_places(app, demo, client):
    login(client, "chenmei")
    assert client.get("/places").status_code == 403


def test_a_place_that_records_cite_is_archived_and_its_records_still_name_it(app, demo, client):
    with app.app_context():
        restroom = area("BY", "restroom")
        lead = db.session.scalar(sa.select(User).where(User.username == "zhaoling"))
        record = submit_inspection(
            db.session,
            submission(restroom_template(), restroom, all_pass(restroom_template())),
            actor=lead,
            origin=Origin("web"),
            now=NOW,
        )
        db.session.commit()
        restroom_id, record_id, name = restroom.id, record.inspection.id, restroom.name
    login(client, "wangjl")
    assert post_form(client, f"/places/{restroom_id}/archive", {}, token_from="/places").status_code == 303
    page = client.get(f"/inspections/{record_id}").get_data(as_text=True)
    assert page.count(name) >= 1  # the record still says where it was made
    with app.app_context():
        assert db.session.get(Location, restroom_id) is not None  # never deleted
        assert (
            db.session.scalar(sa.select(sa.func.count(Inspection.id)).where(Inspection.location_id == restroom_id)) >= 1
        )


def test_a_deactivated_person_keeps_their_records(app, demo, client):
    with app.app_context():
        restroom = area("BY", "restroom")
        chenmei = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        result = submit_inspection(
            db.session,
            submission(restroom_template(), restroom, all_pass(restroom_template())),
            actor=chenmei,
            origin=Origin("web"),
            now=NOW,
        )
        db.session.commit()
        chenmei_id, record_id = chenmei.id, result.inspection.id
    login(client, "wangjl")
    assert post_form(client, f"/people/{chenmei_id}/active", {}, token_from="/people").status_code == 303
    page = client.get(f"/inspections/{record_id}").get_data(as_text=True)
    assert "陈梅" in page
    with app.app_context():
        assert db.session.get(Inspection, record_id).inspector_id == chenmei_id


def test_an_archived_checkpoint_leaves_the_round_but_not_the_routes_page(app, demo, client):
    with app.app_context():
        route = db.session.scalar(sa.select(PatrolRoute))
        stop = route.checkpoints[1].location
        route_id, stop_id, stop_name, walked = route.id, stop.id, stop.name, len(route.checkpoints)
    login(client, "wangjl")
    assert post_form(client, f"/places/{stop_id}/archive", {}, token_from="/places").status_code == 303
    edit = client.get(f"/patrol/routes/{route_id}").get_data(as_text=True)
    assert stop_name in edit and "archived: not walked" in edit
    logout(client)
    login(client, "zhangwei")
    walk = client.get(f"/patrol/routes/{route_id}/walk").get_data(as_text=True)
    assert stop_name not in walk
    with app.app_context():
        assert len(db.session.get(PatrolRoute, route_id).stops) == walked - 1


def test_a_confirmation_the_preview_did_not_make_is_refused(app, demo, client):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY")).id
    for fields in ({"sheet": "not base64!", "filename": "p.csv", "digest": "x"}, {"filename": "p.csv"}):
        assert post_form(client, f"/places/sites/{by}/import/apply", fields, token_from="/places").status_code == 400
    assert (
        post_form(
            client, "/people/import/apply", {"sheet": "***", "filename": "p.csv", "digest": "-"}, token_from="/people"
        ).status_code
        == 400
    )


def test_a_word_the_import_does_not_know_is_answered_with_the_words_it_does(app, demo, client):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
    html = upload(client, f"/places/sites/{by}/import", TREE + "新楼,1F,公厕,区域,公厕,\n").get_data(as_text=True)
    assert "“公厕” is not a cleaning standard: use 大堂 (lobby)、走廊 (corridor)" in html
    people = "username,name,role,sites\nxiaoli,小李,保姆,BY\n"
    answer = post_form(
        client,
        "/people/import",
        {"file": (io.BytesIO(people.encode()), "people.csv")},
        token_from="/people/import",
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "“保姆” is not a role you may give: use 保安 (guard)、保洁 (cleaner)" in answer and "(admin)" not in answer


def test_every_import_offers_a_template_with_the_values_each_column_takes(app, demo, client):
    from openpyxl import load_workbook

    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))

    def sheets(url: str) -> list[list[list]]:
        response = client.get(url)
        assert response.status_code == 200, url
        book = load_workbook(io.BytesIO(response.data))
        return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book]

    fill, allowed = sheets(f"/places/sites/{by}/import/template.xlsx")
    assert fill == [["楼栋", "楼层", "位置", "类型", "保洁区域类型", "已停用"]]
    assert allowed[0] == ["类型", "保洁区域类型", "已停用"] and ["单元", "大堂", "是"] == allowed[1]
    fill, allowed = sheets("/people/import/template.xlsx")
    values = {v for row in allowed[1:] for v in row if v}
    assert {"保安", "保洁", "cleaning", "BY"} <= values and "XH" not in values and "管理员" not in values
    fill, allowed = sheets("/people/tenants/import/template.xlsx")
    assert allowed == [["site"], ["BY"]]
    # The template, filled in, is what the import reads.
    book = load_workbook(io.BytesIO(client.get(f"/places/sites/{by}/import/template.xlsx").data))
    book.worksheets[0].append(["新楼", "1F", "大堂", "区域", "大堂", ""])
    filled = io.BytesIO()
    book.save(filled)
    preview = post_form(
        client,
        f"/places/sites/{by}/import",
        {"file": (io.BytesIO(filled.getvalue()), "places.xlsx")},
        token_from="/places",
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200 and "新楼" in preview.get_data(as_text=True)


def test_a_manager_changes_who_takes_a_sites_failures_and_a_forged_choice_changes_nothing(app, demo, client):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        by_id = by.id
        desk = db.session.scalar(sa.select(User).where(User.username == "liuxia"))
        elsewhere = db.session.scalar(sa.select(User).where(User.username == "hemin"))  # XH's manager
        desk_id, elsewhere_id = desk.id, elsewhere.id
    path = f"/places/sites/{by_id}"
    page = client.get(path).get_data(as_text=True)
    assert len(re.findall(r'<input checked id="routing-', page)) == 3  # every step used until the site says

    forged = post_form(
        client,
        path,
        {"action": "routing", "routing-on_duty": "y", "routing-last_resort_id": str(elsewhere_id)},
        token_from=path,
    )
    assert forged.status_code == 422 and "Not a valid choice" in forged.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(RoutingRule, by_id) is None

    saved = post_form(
        client,
        path,
        {"action": "routing", "routing-scheduled": "y", "routing-last_resort_id": str(desk_id)},
        token_from=path,
    )
    assert saved.status_code == 303
    with app.app_context():
        rule = db.session.get(RoutingRule, by_id)
        assert (rule.skipped, rule.last_resort_id) == (["on_duty", "department_head"], desk_id)
    page = client.get(path).get_data(as_text=True)
    assert re.findall(r'<input checked id="routing-(\w+)', page) == ["scheduled"]
    assert f'<option selected value="{desk_id}">' in page


def test_the_overview_says_every_failure_has_a_person_and_names_those_nobody_has(session, demo, client):
    cleaner = session.scalar(sa.select(User).where(User.username == "chenmei"))
    tpl = restroom_template()
    answers = [{**a, "value": "fail", "photos": ["ab" * 32]} if a["item_id"] == "odour" else a for a in all_pass(tpl)]
    [ticket] = submit_inspection(
        session, submission(tpl, area("BY", "restroom"), answers), actor=cleaner, origin=Origin("web"), now=NOW
    ).tickets
    session.commit()
    login(client, "wangjl")
    assert "检查发现的每个问题都有负责人。" in client.get("/console").get_data(as_text=True)  # wangjl reads Chinese

    ticket.assignee_id, ticket.state = None, "new"  # as before routing: a failure nobody has
    session.commit()
    overview = client.get("/console").get_data(as_text=True)
    assert "1 个检查发现的问题无人负责" in overview
    listed = client.get("/console/tickets?state=unassigned").get_data(as_text=True)
    assert ticket.number in listed
