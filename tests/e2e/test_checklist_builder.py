"""A manager writes a checklist and a cleaner's phone lives through the new version.

The manager imports an XLSForm workbook, publishes it, changes one item on a phone-sized screen,
previews, reads the changes and what they touch, and publishes version 2 with a note. A cleaner
offline with version-1 checks under way finishes them on version 1 (one on the page she had
open, one after her phone's pages were refreshed to version 2); her next check is on version 2;
each record says its version; the workbook of version 2 imports back unchanged."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from foundation.org import Location, Site
from inspections.checklists import ChecklistTemplate, TemplateVersion
from inspections.records import Inspection
from inspections.xlsform import read_xlsform
from tests.e2e.conftest import (
    _context,
    go_offline,
    go_online,
    log_in,
    screenshot,
    wait_until,
    wait_until_offline_ready,
)
from webapp.extensions import db

TITLE = "电梯厅巡检（表格导入）"


def _workbook(path, *extra_rows: list) -> None:
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in [
        [
            "type",
            "name",
            "label::zh",
            "label::en",
            "hint::zh",
            "required",
            "relevant",
            "photo_on_fail",
            "on_fail",
            "on_fail_department",
            "on_fail_due_hours",
        ],
        ["begin_group", "hall", "电梯厅", "Lift hall", "", "", "", "", "", "", ""],
        ["note", "mind", "检查时勿进入井道", "", "", "", "", "", "", "", ""],
        [
            "select_one pass_fail",
            "floor",
            "电梯厅地面",
            "Floor",
            "电梯厅地面无污迹，水迹、无纸屑、尘土、毛发，清洁，光亮。",
            "yes",
            "",
            "yes",
            "rework",
            "cleaning",
            "2",
        ],
        [
            "select_one pass_fail",
            "doors",
            "电梯外金属门",
            "Doors",
            "电梯外的金属门的清洁，做到光洁，无水迹、无污渍。",
            "yes",
            "",
            "yes",
            "rework",
            "cleaning",
            "2",
        ],
        ["text", "why", "门不洁的原因", "Why", "", "yes", "${doors} = 'fail'", "", "", "", ""],
        *extra_rows,
        ["end_group", "", "", "", "", "", "", "", "", "", ""],
    ]:
        survey.append(row)
    choices = book.create_sheet("choices")
    for row in [["list_name", "name", "label"], ["pass_fail", "pass", "合格"], ["pass_fail", "fail", "不合格"]]:
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id"])
    settings.append([TITLE, "lift_hall"])
    book.save(path)


def _halls(app) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Location.id)
                .join(Site)
                .where(Site.code == "BY", Location.area_type == "lift_hall")
                .order_by(Location.id)
                .limit(3)
            )
        )


def _template(app) -> ChecklistTemplate:
    with app.app_context():
        found = db.session.scalar(sa.select(ChecklistTemplate).where(ChecklistTemplate.title == TITLE))
        db.session.expunge_all()
        return found


def _versions_of_records(app, template_id: int) -> dict[int, int]:
    """location id → the version its record was filled on."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Inspection.location_id, TemplateVersion.version)
            .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
            .where(TemplateVersion.template_id == template_id)
        )
        return dict(rows.all())


def _pass_all(page) -> None:
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    for item in page.locator("fieldset[data-item]:visible").all():
        item.locator("label.opt-pass").click()


def _send(page) -> None:
    page.click(".actionbar button[value=review]")
    page.wait_for_selector("#client-summary:not([hidden])")
    page.click("#client-summary button[value=submit]")
    page.wait_for_url("**/today")


@pytest.mark.photos
def test_a_checklist_from_a_workbook_changes_while_a_cleaner_is_offline_on_the_old_version(
    app, live_server, browser, tmp_path
):
    base = live_server.url
    workbook = tmp_path / "lift-hall.xlsx"
    _workbook(workbook)
    hall_1, hall_2, hall_3 = _halls(app)

    # The manager, at her desk, imports the workbook as a new cleaning checklist.
    desk_context = _context(browser, desk=True)
    desk = desk_context.new_page()
    log_in(desk, base, "wangjl")
    desk.goto(f"{base}/builder/import")
    desk.set_input_files("#file", str(workbook))
    desk.select_option("#kind", "cleaning")
    desk.check("input[name=roles][value=cleaner]")
    desk.select_option("#area_type", "lift_hall")
    desk.click("button.primary")
    desk.wait_for_selector("li[data-item=floor]")
    assert "已导入 4 个检查项到草稿" in desk.inner_text("main")
    screenshot(desk, "builder-import-result-zh-1280")
    template = _template(app)
    desk.goto(f"{base}/builder/{template.id}/publish")
    assert desk.locator("[data-added]").count() == 4
    desk.fill("#note", "按表格导入")
    desk.click("button.primary")
    desk.wait_for_url(f"**/builder/{template.id}/versions")

    # The cleaner opens it at two lift halls, online, and starts both: version 1.
    phone_context = _context(browser)
    phone = phone_context.new_page()
    log_in(phone, base, "chenmei")
    wait_until_offline_ready(phone)
    first, second, third = (f"/checklists/{template.id}?location={hall}" for hall in (hall_1, hall_2, hall_3))
    for url in (second, first):
        phone.goto(base + url)
        phone.wait_for_selector("form[data-checklist][data-ready=true]")
        assert phone.evaluate("JSON.parse(document.getElementById('checklist-data').textContent).template_version") == 1
        phone.click("label[for='a-floor-pass']")
        phone.click("label[for='a-doors-pass']")
        wait_until(
            phone,
            """() => fieldStore.all('drafts').then((drafts) => drafts.some((d) => d.answers.doors?.value === 'pass'
                && d.location_id === Number(new URLSearchParams(location.search).get('location'))))""",
        )
    screenshot(phone, "builder-cleaner-v1-draft-zh-360")
    # Her phone's next sync tells the server what she has under way.
    assert phone.evaluate("fieldSync.syncNow()") is True

    # Her signal goes. The show-if asks why only when the doors fail, offline too.
    go_offline(phone_context, live_server)
    phone.reload()
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    assert phone.is_checked("#a-floor-pass")  # the draft survived the reload, offline
    assert not phone.is_visible("#item-why")
    phone.click("label[for='a-doors-fail']")
    assert phone.is_visible("#item-why")
    phone.click("label[for='a-doors-pass']")
    assert not phone.is_visible("#item-why")

    # Meanwhile (the server is back, her phone is not) the manager changes one item on her phone.
    live_server.start()
    manager_context = _context(browser)
    manager = manager_context.new_page()
    log_in(manager, base, "wangjl")
    # A workbook with what a checklist cannot hold is refused, by sheet, row and column.
    refused = tmp_path / "refused.xlsx"
    _workbook(refused, ["select_multiple pass_fail", "many", "多选", "", "", "", "", "", "", "", ""])
    manager.goto(f"{base}/builder/import")
    manager.set_input_files("#file", str(refused))
    manager.check("input[name=roles][value=cleaner]")
    manager.click("button.primary")
    manager.wait_for_selector("[data-import-problems]")
    desk.goto(f"{base}/builder/import")
    desk.set_input_files("#file", str(refused))
    desk.check("input[name=roles][value=cleaner]")
    desk.click("button.primary")
    desk.wait_for_selector("[data-import-problems]")
    screenshot(desk, "builder-import-refused-zh-1280")
    assert "survey，第 7 行，列 type (A)：不支持类型 select_multiple pass_fail" in manager.inner_text(
        "[data-import-problems]"
    ).replace(", ", "，").replace(": ", "：")
    screenshot(manager, "builder-import-refused-zh-360")
    manager.goto(f"{base}/builder/{template.id}")
    manager.click("form[action$='/draft'] button")
    manager.click("li[data-item=doors] a:has-text('编辑')")
    manager.fill("#label", "电梯外金属门及门槽")
    manager.fill("#standard", "电梯外的金属门的清洁，做到光洁，无水迹、无污渍。电梯槽清理。")
    screenshot(manager, "builder-item-edit-zh-360")
    manager.click("button.primary")
    manager.wait_for_selector("li[data-item=doors]:has-text('电梯外金属门及门槽')")
    screenshot(manager, "builder-zh-360")
    desk.goto(f"{base}/builder/{template.id}")
    screenshot(desk, "builder-zh-1280")

    # The preview fills the draft as a phone would, and keeps nothing.
    manager.goto(f"{base}/builder/{template.id}/preview")
    manager.wait_for_selector("form[data-checklist][data-ready=true]")
    manager.click("label[for='a-doors-fail']")
    assert manager.is_visible("#item-why")
    manager.click(".actionbar button[value=review]")
    manager.wait_for_selector("#client-summary:not([hidden])")
    assert "门不洁的原因" in manager.inner_text("#client-summary")  # shown, so required
    screenshot(manager, "builder-preview-zh-360")
    desk.goto(f"{base}/builder/{template.id}/preview")
    screenshot(desk, "builder-preview-zh-1280")
    assert manager.evaluate("fieldStore.all('drafts').then(ds => ds.length)") == 0

    # The changes and what they touch, then version 2 with a note.
    manager.goto(f"{base}/builder/{template.id}/publish")
    assert manager.locator("[data-changed=doors]").count() == 1
    assert "<del>电梯外金属门</del>" in manager.inner_html("[data-changed=doors]")
    # Her two halls are under way on version 1 and both answered the changed item.
    assert manager.inner_text("[data-impact-drafts]").startswith("手机上有 2 份检查正在填写")
    assert manager.inner_text("[data-impact-drafts-touched]") == "其中 2 份已填写了被删除或修改的检查项"
    screenshot(manager, "builder-diff-zh-360")
    desk.goto(f"{base}/builder/{template.id}/publish")
    screenshot(desk, "builder-diff-zh-1280")
    manager.fill("#note", "门槽一并检查（§3.6.4 电梯槽清理）")
    manager.click("button.primary")  # without saying she knows: refused, her note kept
    manager.wait_for_selector("#knows_drafts[aria-invalid=true]")
    assert manager.input_value("#note") == "门槽一并检查（§3.6.4 电梯槽清理）"
    manager.check("#knows_drafts")
    manager.click("button.primary")
    manager.wait_for_url(f"**/builder/{template.id}/versions")
    assert "门槽一并检查" in manager.inner_text("[data-versions]")
    desk.goto(f"{base}/builder/{template.id}/versions")
    screenshot(desk, "builder-versions-zh-1280")

    # Still offline, the cleaner finishes the first hall on version 1, on the page she has.
    _pass_all(phone)
    _send(phone)
    phone.wait_for_selector("#outbox-list li[data-status=waiting]")

    # Back online: it goes out on version 1, and her kept pages become version 2.
    phone_context.set_offline(False)  # the server came back for the manager
    phone.reload()
    phone.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    wait_until_offline_ready(phone)
    kept_version = """async (url) => {
        const cache = await caches.open(`pages-${document.body.dataset.userId}`);
        const kept = await cache.match(location.origin + url);
        const found = kept && (await kept.text()).match(/"template_version": (\\d+)/);
        return found ? Number(found[1]) : null;
    }"""
    wait_until(phone, f"({kept_version})({second!r}).then((v) => v === 2)")
    # ... and the page of the draft's own version, so that it finishes on version 1 offline.
    wait_until(phone, f"({kept_version})({second + '&version=1'!r}).then((v) => v === 1)")
    assert _versions_of_records(app, template.id) == {hall_1: 1}

    # Offline again, the second hall's draft opens on version 1 (its own page), and is sent.
    go_offline(phone_context, live_server)
    phone.goto(base + second)
    phone.wait_for_url("**version=1*")
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    assert phone.is_checked("#a-floor-pass")
    assert phone.evaluate("JSON.parse(document.getElementById('checklist-data').textContent).template_version") == 1
    _pass_all(phone)
    _send(phone)
    # The third hall is a new check: version 2, with the new wording.
    phone.goto(base + third)
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    assert "电梯外金属门及门槽" in phone.inner_text("#item-doors")
    _pass_all(phone)
    _send(phone)
    go_online(phone_context, live_server)
    wait_until(phone, "fieldStore.all('outbox').then(rs => rs.filter(r => r.status === 'sent').length === 3)")
    assert _versions_of_records(app, template.id) == {hall_1: 1, hall_2: 1, hall_3: 2}

    # Each record says its version.
    with app.app_context():
        records = dict(
            db.session.execute(
                sa.select(Inspection.location_id, Inspection.id).where(Inspection.location_id.in_([hall_1, hall_3]))
            ).all()
        )
    for hall, version in ((hall_1, 1), (hall_3, 2)):
        phone.goto(f"{base}/inspections/{records[hall]}")
        assert phone.get_attribute("[data-version]", "data-version") == str(version)
        assert f"第 {version} 版" in phone.inner_text("[data-version]")
    screenshot(phone, "builder-record-v2-zh-360")

    # The workbook of version 2 imports back as the same checklist.
    exported = desk.request.get(f"{base}/builder/{template.id}/xlsform.xlsx?version=2")
    assert exported.ok
    with app.app_context():
        v2 = db.session.scalar(
            sa.select(TemplateVersion).where(TemplateVersion.template_id == template.id, TemplateVersion.version == 2)
        )
        assert read_xlsform(io.BytesIO(exported.body()).getvalue()).definition == v2.parsed()

    errors = desk_context.errors + phone_context.errors + manager_context.errors
    for context in (desk_context, phone_context, manager_context):
        context.close()
    assert errors == []
