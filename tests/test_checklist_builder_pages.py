"""管理 → 检查表 in the browser's terms: a manager builds a checklist, previews it, sees the changes
and what they touch, publishes with a note; a workbook comes in or is refused by row; phones
report the checklists they have under way. On both databases, over the demo."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook

from foundation.org import Location, Site, User
from inspections.checklists import ChecklistTemplate, TemplateVersion
from inspections.xlsform import read_xlsform
from tests.conftest import csrf_token, login, logout, post_form
from tests.sync_client import auth, get_token, inspection_payload, mutation, pull_all, push
from webapp.extensions import db


def restroom(app) -> ChecklistTemplate:
    with app.app_context():
        return db.session.scalar(sa.select(ChecklistTemplate).where(ChecklistTemplate.title == "清洁标准：卫生间"))


def template_named(app, title: str) -> ChecklistTemplate:
    with app.app_context():
        found = db.session.scalar(sa.select(ChecklistTemplate).where(ChecklistTemplate.title == title))
        db.session.expunge_all()
        return found


def post(client, path: str, data: dict | None = None, **kwargs):
    return post_form(client, path, data or {}, token_from="/builder", **kwargs)


def test_who_may_write_checklists(app, demo, client):
    """The restroom standard is company-wide: BY's manager reads it and changes only his site's."""
    template = restroom(app)
    login(client, "wangjl")
    assert post(client, f"/builder/{template.id}/draft").status_code == 403
    logout(client)
    login(client, "admin")
    assert post(client, f"/builder/{template.id}/draft").status_code == 303
    logout(client)
    pages = [f"/builder/{template.id}/preview", f"/builder/{template.id}/publish"]
    for username in ("zhangwei", "chenmei", "zhaoling", "liuxia", "wangjl", "admin"):
        login(client, username)
        got = [client.get(page).status_code for page in pages]
        expected = {"admin": [200, 200], "wangjl": [200, 403]}.get(username, [403, 403])
        assert got == expected, username
        logout(client)
    # Another site's manager sees it read-only: no settings, no publish link.
    login(client, "hemin")
    page = client.get(f"/builder/{template.id}").get_data(as_text=True)
    assert "data-read-only" in page and f"/builder/{template.id}/publish" not in page
    assert post(client, f"/builder/{template.id}", {"title": "改名"}).status_code == 403
    import_page = client.get("/builder/import").get_data(as_text=True)
    assert "清洁标准：卫生间" not in import_page and "Every site" not in import_page
    logout(client)
    # A manager lets the cleaning lead write checklists: the pages open for her, and the link shows.
    with app.app_context():
        lead = db.session.scalar(sa.select(User).where(User.username == "zhaoling"))
        form = {
            "display_name": lead.display_name,
            "role": lead.role.value,
            "department_id": lead.department_id or 0,
            "sites": [s.id for s in lead.sites],
            "writes_checklists": "y",
        }
    login(client, "wangjl")
    assert post_form(client, f"/people/{lead.id}", form, token_from=f"/people/{lead.id}").status_code == 303
    logout(client)
    login(client, "zhaoling")
    assert [client.get(page).status_code for page in pages] == [200, 403]  # company-wide: read only
    assert 'href="/builder"' in client.get("/today").get_data(as_text=True)


def test_a_manager_builds_previews_and_publishes(app, demo, client):
    login(client, "admin")
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        hall = db.session.scalar(
            sa.select(Location).where(Location.site_id == by.id, Location.area_type == "lift_hall").limit(1)
        )
        by_id, hall_id = by.id, hall.id
    response = post(
        client,
        "/builder/new",
        {"title": "电梯厅检查", "kind": "cleaning", "site_id": by_id, "roles": ["cleaner"], "area_type": "lift_hall"},
    )
    assert response.status_code == 303
    template = template_named(app, "电梯厅检查")
    base = f"/builder/{template.id}"
    item = {"type": "pass_fail", "label": "轿厢照明", "required": "y", "photo_on_fail": "y", "weight": "1"}
    assert post(client, f"{base}/items/new?section=0", {**item, "id": "light"}).status_code == 303
    # What a form cannot save is shown to fix, and nothing changes.
    bad = post(client, f"{base}/items/new?section=0", {"id": "door", "type": "choice", "label": "厅门", "weight": "1"})
    assert bad.status_code == 422 and "A choice item needs its choices" in bad.get_data(as_text=True)
    again = post(client, f"{base}/items/new?section=0", {**item, "id": "light", "label": "又一个"})
    assert again.status_code == 422 and "Another item already uses this key" in again.get_data(as_text=True)
    why = {"id": "why", "type": "text", "label": "不亮的原因", "required": "y", "weight": "1", "show_if": "light=fail"}
    assert post(client, f"{base}/items/new?section=0", why).status_code == 303
    # A failure of the light goes to the cleaning lead, whoever is on duty (inspections.routing).
    to_lead = {**item, "id": "light", "on_fail": "rework", "on_fail_department": "cleaning", "on_fail_due_hours": "2"}
    forged = post(client, f"{base}/items/light", {**to_lead, "on_fail_role": "boss"})
    assert forged.status_code == 422 and "Not a valid choice" in forged.get_data(as_text=True)
    assert post(client, f"{base}/items/light", {**to_lead, "on_fail_role": "supervisor"}).status_code == 303
    assert 'selected value="supervisor"' in client.get(f"{base}/items/light").get_data(as_text=True)
    assert post(client, f"{base}/sections", {"title": "轿厢内"}).status_code == 303
    assert post(client, f"{base}/items/why/down").status_code == 303  # into the new section
    builder = client.get(base).get_data(as_text=True)
    assert builder.index("轿厢照明") < builder.index("轿厢内") < builder.index("不亮的原因")
    assert "only if 轿厢照明 = Fail" in builder

    preview = client.get(f"{base}/preview").get_data(as_text=True)
    assert "data-preview" in preview and 'data-show-if="light"' in preview and "Nothing is saved or sent" in preview
    publish = client.get(f"{base}/publish").get_data(as_text=True)
    assert 'data-added="light"' in publish and 'data-added="why"' in publish
    assert post(client, f"{base}/publish", {"note": ""}).status_code == 422
    assert post(client, f"{base}/publish", {"note": "新建"}).status_code == 303
    # Published, there is no draft to preview: the checklist's page instead.
    assert client.get(f"{base}/preview").headers["Location"] == base
    # The cleaner opens it at the lift hall on version 1.
    logout(client)
    login(client, "chenmei")
    page = client.get(f"/checklists/{template.id}?location={hall_id}").get_data(as_text=True)
    assert '"template_version": 1' in page and "不亮的原因" in page
    logout(client)

    # Version 2 renames an item: the key stays, the diff says what changed, v1 is still there.
    login(client, "admin")
    assert post(client, f"{base}/items/light", {**item, "id": "light", "label": "电梯轿厢照明"}).status_code == 303
    publish = client.get(f"{base}/publish").get_data(as_text=True)
    assert 'data-changed="light"' in publish and "<del>轿厢照明</del>" in publish
    assert post(client, f"{base}/publish", {"note": "照明改名"}).status_code == 303
    versions = client.get(f"{base}/versions").get_data(as_text=True)
    assert "照明改名" in versions and 'data-changed="light"' in versions
    logout(client)
    login(client, "chenmei")
    assert '"template_version": 2' in client.get(f"/checklists/{template.id}?location={hall_id}").get_data(as_text=True)
    old = client.get(f"/checklists/{template.id}?location={hall_id}&version=1").get_data(as_text=True)
    assert '"template_version": 1' in old and "轿厢照明" in old


def test_an_xlsform_comes_in_as_a_draft_or_is_refused_by_row(app, demo, client):
    login(client, "admin")
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in [
        ["type", "name", "label::zh", "required", "relevant"],
        ["select_one pass_fail", "light", "轿厢照明", "yes", ""],
        ["text", "why", "原因", "yes", "${light} = 'fail'"],
    ]:
        survey.append(row)
    choices = book.create_sheet("choices")
    for row in [["list_name", "name", "label"], ["pass_fail", "pass", "合格"], ["pass_fail", "fail", "不合格"]]:
        choices.append(row)
    book.create_sheet("settings").append(["form_title"])
    book["settings"].append(["电梯厅（导入）"])
    data = io.BytesIO()
    book.save(data)
    form = {"into": 0, "kind": "cleaning", "site_id": 0, "roles": ["cleaner"], "area_type": "lift_hall"}
    response = post(client, "/builder/import", {**form, "file": (io.BytesIO(data.getvalue()), "lift.xlsx")})
    assert response.status_code == 303
    template = template_named(app, "电梯厅（导入）")
    assert template.current_version == 0 and [i["id"] for i in template.draft["sections"][0]["items"]] == [
        "light",
        "why",
    ]
    assert "Imported 2 items" in client.get(response.headers["Location"]).get_data(as_text=True)

    survey.append(["select_multiple pass_fail", "many", "多选", "", ""])
    data = io.BytesIO()
    book.save(data)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistTemplate))
    refused = post(client, "/builder/import", {**form, "file": (io.BytesIO(data.getvalue()), "lift.xlsx")})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "survey, row 4, column type (A): the type select_multiple pass_fail is not supported" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistTemplate)) == before

    # Published, its workbook reads back the same checklist.
    assert post(client, f"/builder/{template.id}/publish", {"note": "导入"}).status_code == 303
    exported = client.get(f"/builder/{template.id}/xlsform.xlsx")
    assert exported.status_code == 200
    with app.app_context():
        version = db.session.scalar(sa.select(TemplateVersion).where(TemplateVersion.template_id == template.id))
        assert read_xlsform(exported.data).definition == version.parsed()


def test_phones_report_their_drafts_and_the_author_sees_them(app, demo, client):
    template = restroom(app)
    token = get_token(client, "chenmei")
    inspection_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    report = {
        "drafts": [
            {
                "inspection_id": inspection_id,
                "template_id": template.id,
                "template_version": 1,
                "answered": ["fixtures"],
                "updated_at": now,
            }
        ]
    }
    assert client.put("/api/v1/sync/drafts", json=report, headers=auth(token)).status_code == 204
    bad = client.put("/api/v1/sync/drafts", json={"drafts": [{"inspection_id": "x"}]}, headers=auth(token))
    assert bad.status_code == 422 and bad.get_json()["error"]["code"]
    assert client.put("/api/v1/sync/drafts", json=report).status_code == 401

    login(client, "admin")
    base = f"/builder/{template.id}"
    assert post(client, f"{base}/items/fixtures/remove").status_code == 303
    publish = client.get(f"{base}/publish").get_data(as_text=True)
    assert "1 checklist is being filled in on a phone" in publish
    assert re.search(r"data-impact-drafts-touched><strong>1 of them answers a removed or changed item", publish)
    # Publishing asks to acknowledge it; the draft then finishes on version 1.
    refused = post(client, f"{base}/publish", {"note": "去掉洁具"})
    assert refused.status_code == 422 and "Tick this to publish anyway" in refused.get_data(as_text=True)
    assert post(client, f"{base}/publish", {"note": "去掉洁具", "knows_drafts": "y"}).status_code == 303

    # Once the phone sends that inspection, it is no longer under way.
    with app.app_context():
        area = db.session.scalar(
            sa.select(Location).join(Site).where(Location.area_type == "restroom", Site.code == "BY").limit(1)
        )
        v1 = db.session.scalar(
            sa.select(TemplateVersion).where(TemplateVersion.template_id == template.id, TemplateVersion.version == 1)
        )
        payload = inspection_payload(
            {"id": template.id, "version": 1, **v1.definition}, area.id, area.site_id, inspection_id=inspection_id
        )
    result = push(client, token, [mutation("inspection.submit", payload)]).get_json()["results"][0]
    assert result["status"] == "applied", result
    assert post(client, f"{base}/items/mirrors/remove").status_code == 303
    assert "0 checklists are being filled in on phones" in client.get(f"{base}/publish").get_data(as_text=True)


def test_a_library_copy_for_one_site_is_that_sites_own(app, demo, client):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
        xh = db.session.scalar(sa.select(Site.id).where(Site.code == "XH"))
    assert post(client, "/builder/library/greening/copy", {"site_id": xh}).status_code == 400  # not hers
    response = post(client, "/builder/library/greening/copy", {"site_id": by})
    assert response.status_code == 303
    with app.app_context():
        copy = db.session.scalar(
            sa.select(ChecklistTemplate).where(
                ChecklistTemplate.library_key == "greening", ChecklistTemplate.site_id == by
            )
        )
        assert copy.current_version == 1
    assert "Copied from the manual" in client.get(response.headers["Location"]).get_data(as_text=True)
    logout(client)
    login(client, "hemin")  # XH's manager does not see BY's copy
    assert client.get(f"/builder/{copy.id}").status_code == 404
    assert csrf_token(client, "/builder")


def test_a_version_for_a_later_day_waits_for_it_and_phones_know_it_is_coming(app, demo, client):
    template = restroom(app)
    token = get_token(client, "chenmei")
    _, cursor = pull_all(client, token)
    login(client, "admin")
    base = f"/builder/{template.id}"
    assert post(client, f"{base}/items/mirrors/remove").status_code == 303
    later_day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert post(client, f"{base}/publish", {"note": "月初起不查镜面", "effective_on": later_day}).status_code == 303
    versions = client.get(f"{base}/versions").get_data(as_text=True)
    assert "takes effect" in versions and "Phones use version 1" in client.get(base).get_data(as_text=True)
    # A check started now is on version 1; a phone's pull says version 2 is coming, and when.
    with app.app_context():
        area = db.session.scalar(
            sa.select(Location.id).join(Site).where(Location.area_type == "restroom", Site.code == "BY").limit(1)
        )
    logout(client)
    login(client, "chenmei")
    page = client.get(f"/checklists/{template.id}?location={area}").get_data(as_text=True)
    assert '"template_version": 1' in page and 'data-item="mirrors"' in page
    changes, _ = pull_all(client, token, cursor)
    pulled = next(c for c in changes if c["entity"] == "template" and c["id"] == template.id)
    assert pulled["version"] == 1 and pulled["data"]["upcoming"]["version"] == 2
    starts = datetime.fromisoformat(pulled["data"]["upcoming"]["effective_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (starts.date().isoformat(), starts.hour, starts.minute) == (later_day, 0, 0)  # that day's first moment
    assert "mirrors" not in [i["id"] for s in pulled["data"]["upcoming"]["sections"] for i in s["items"]]


def test_editing_a_draft_sends_phones_nothing_and_publishing_does(app, demo, client):
    template = restroom(app)
    token = get_token(client, "chenmei")
    _, cursor = pull_all(client, token)
    login(client, "admin")
    base = f"/builder/{template.id}"
    assert post(client, f"{base}/items/mirrors/remove").status_code == 303
    assert post(client, f"{base}/items/drain/up").status_code == 303
    changes, cursor = pull_all(client, token, cursor)
    assert [c for c in changes if c["entity"] == "template"] == []
    assert post(client, f"{base}/publish", {"note": "不查镜面"}).status_code == 303
    changes, _ = pull_all(client, token, cursor)
    pulled = [c for c in changes if c["entity"] == "template"]
    assert [(c["id"], c["version"]) for c in pulled] == [(template.id, 2)]


def test_saving_the_patrol_checklists_settings_keeps_it_at_the_checkpoints(app, demo, client):
    """The settings' select once had no choice for checkpoints, so saving wiped what Today needs."""
    patrol = template_named(app, "巡更点检查")
    login(client, "admin")
    page = client.get(f"/builder/{patrol.id}").get_data(as_text=True)
    assert re.search(r'<option selected value="checkpoint">|<option value="checkpoint" selected>', page)
    form = {"title": "巡更点检查", "roles": ["guard", "supervisor"], "area_type": "checkpoint"}
    assert post(client, f"/builder/{patrol.id}", form).status_code == 303
    assert template_named(app, "巡更点检查").area_type == "checkpoint"


def _lift_workbook(extra_row: list | None = None) -> bytes:
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in [
        ["type", "name", "label"],
        ["select_one pass_fail", "light", "轿厢照明"],
        *([extra_row] if extra_row else []),
    ]:
        survey.append(row)
    choices = book.create_sheet("choices")
    for row in [["list_name", "name", "label"], ["pass_fail", "pass", "合格"], ["pass_fail", "fail", "不合格"]]:
        choices.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_the_import_reads_the_file_first_and_keeps_a_good_one_while_asking_who_fills_it_in(app, demo, client):
    login(client, "admin")
    form = {"into": 0, "kind": "cleaning", "site_id": 0, "area_type": "lift_hall"}
    bad = post(
        client, "/builder/import", {**form, "file": (io.BytesIO(_lift_workbook(["calculate", "x", "x"])), "a.xlsx")}
    )
    assert bad.status_code == 422 and "data-import-problems" in bad.get_data(as_text=True)  # not only "who fills it in"
    asked = post(client, "/builder/import", {**form, "file": (io.BytesIO(_lift_workbook()), "电梯厅.xlsx")})
    page = asked.get_data(as_text=True)
    assert (
        asked.status_code == 422
        and "Say who fills it in." in page
        and "data-kept-file" in page
        and "电梯厅.xlsx" in page
    )
    kept = re.search(r'name="kept" type="hidden" value="([^"]+)"', page).group(1)
    done = post(client, "/builder/import", {**form, "roles": ["cleaner"], "kept": kept, "kept_name": "电梯厅.xlsx"})
    assert done.status_code == 303
    assert template_named(app, "电梯厅.xlsx") is not None  # no form_title: named after the file


def test_every_workbook_problem_is_worded_in_both_languages_on_the_import_page(app, demo, client, monkeypatch):
    """Every code a refusal can carry, with as many arguments as it has (none, for many: a page
    that read a third argument of every problem was a 500 for those)."""
    import webapp.checklists.views as views
    from inspections.xlsform import DEFINITION_CODES, MESSAGES, Problem, XlsFormRefused

    def arguments(code: str) -> tuple:
        if code in DEFINITION_CODES:
            return ("doors", "floor", "pass")
        if code == "invalid":
            return ("Input should be a valid number", "float_parsing")
        return tuple(f"x{n}" for n in range(MESSAGES[code].count("{")))

    problems = [Problem("survey", n + 2, "type (A)", code, arguments(code)) for n, code in enumerate(MESSAGES)]
    problems += [Problem("survey", 9, "name (B)", code, arguments(code)) for code in DEFINITION_CODES]

    def refuse(data, limits, kind):
        raise XlsFormRefused(problems)

    monkeypatch.setattr(views, "read_xlsform", refuse)
    form = {"into": 0, "kind": "cleaning", "site_id": 0, "roles": ["cleaner"], "area_type": ""}
    for locale in ("zh", "en"):
        login(client, "admin", locale=locale)
        page = post(client, "/builder/import", {**form, "file": (io.BytesIO(_lift_workbook()), "a.xlsx")})
        assert page.status_code == 422, locale
        listed = re.search(r"<ul class=\"errors\" data-import-problems>(.*?)</ul>", page.get_data(as_text=True), re.S)
        entries = [
            re.sub(r"<[^>]+>|\s+", " ", li).strip() for li in re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)
        ]
        assert len(entries) == len(problems), locale
        for entry, problem in zip(entries, problems):
            words = entry.split(": ", 1)[1]
            assert words != problem.code and "%(" not in words, (locale, entry)  # worded, not the bare code
            if locale == "zh":
                assert re.search(r"[\u4e00-\u9fff]", words), entry
        logout(client)


def test_a_customers_workbook_imports_with_na_offered_and_its_kinds_tickets(app, demo, client):
    from tests.test_checklist_authoring import _customer_workbook

    login(client, "admin")
    form = {"into": 0, "kind": "cleaning", "site_id": 0, "roles": ["cleaner"], "area_type": "lift_hall"}
    done = post(client, "/builder/import", {**form, "file": (io.BytesIO(_customer_workbook()), "lift.xlsx")})
    assert done.status_code == 303
    template = template_named(app, "电梯日检")
    preview = client.get(f"/builder/{template.id}/preview").get_data(as_text=True)
    assert 'id="a-floor-na"' in preview and 'id="a-lit-na"' not in preview
    page = client.get(f"/builder/{template.id}").get_data(as_text=True)
    assert "fail opens Rework" in page  # a cleaning checklist's failures open rework
    assert post(client, f"/builder/{template.id}/publish", {"note": "客户表格"}).status_code == 303
    exported = client.get(f"/builder/{template.id}/xlsform.xlsx").data
    with app.app_context():
        assert read_xlsform(exported).definition.workbook.form_id == "lift_daily"


def test_publish_is_offered_only_once_the_draft_differs_from_the_version_in_use(app, demo, client):
    template = restroom(app)
    login(client, "admin")
    assert post(client, f"/builder/{template.id}/draft").status_code == 303
    page = client.get(f"/builder/{template.id}").get_data(as_text=True)
    assert "data-no-change" in page and "data-publish" not in page and f"/builder/{template.id}/publish" not in page
    assert post(client, f"/builder/{template.id}/items/mirrors/remove").status_code == 303
    page = client.get(f"/builder/{template.id}").get_data(as_text=True)
    assert "data-publish" in page and "data-no-change" not in page


def test_a_new_items_key_is_made_from_its_label_when_left_empty(app, demo, client):
    template = restroom(app)
    login(client, "admin")
    base = f"/builder/{template.id}"
    item = {"id": "", "type": "pass_fail", "label": "轿厢地面", "required": "y", "weight": "1"}
    assert post(client, f"{base}/items/new?section=0", item).status_code == 303
    assert post(client, f"{base}/items/new?section=0", item).status_code == 303  # the same label again
    english = {**item, "label": "镜面", "label_en": "Mirror glass"}
    assert post(client, f"{base}/items/new?section=0", english).status_code == 303
    keys = [i["id"] for s in template_named(app, "清洁标准：卫生间").draft["sections"] for i in s["items"]]
    assert {"jiao_xiang_di_mian", "jiao_xiang_di_mian_2", "mirror_glass"} <= set(keys)
