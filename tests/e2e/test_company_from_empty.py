"""A company starts from an empty database, in the browser only: the first administrator, a
site, its places from a spreadsheet (preview, then apply), two people, a daily restroom check
for the cleaner and a night route for the guard; both do their work on their phones, offline;
the calendar shows what was done, late and missed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from foundation.org import Location, Site
from inspections.patrol import PatrolScan
from inspections.records import Inspection
from tests.e2e.conftest import (
    LiveServer,
    _context,
    fill_restroom_check,
    log_in,
    screenshot,
    wait_until,
    wait_until_offline_ready,
)
from webapp.extensions import db

PASSWORD = "a-long-secret"
SHANGHAI = ZoneInfo("Asia/Shanghai")
AREAS = [("男卫生间", "卫生间"), ("女卫生间", "卫生间"), ("电梯厅", "电梯厅"), ("走廊", "走廊"), ("楼梯间", "楼梯间")]
CHECKPOINTS = [
    ("A座", "1F", "A座消防门"),
    ("A座", "2F", "A座配电房"),
    ("B座", "1F", "B座后门"),
    ("B座", "2F", "B座水泵房"),
    ("C座", "1F", "C座车库入口"),
    ("C座", "2F", "C座屋顶出口"),
    ("A座", "1F", "A座监控室"),
    ("B座", "1F", "B座货梯厅"),
]


def places_workbook(path: Path) -> Path:
    """3 buildings of 2 floors, 30 areas, 8 checkpoints: the way a company keeps it in Excel."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["楼栋", "楼层", "位置", "类型", "保洁区域类型", "已停用"])
    for building in ("A座", "B座", "C座"):
        sheet.append([building, None, None, "楼栋", None, None])
        for floor in ("1F", "2F"):
            for name, area_type in AREAS:
                sheet.append([building, floor, name, "区域", area_type, None])
    for building, floor, name in CHECKPOINTS:
        sheet.append([building, floor, name, "巡更点", None, None])
    book.save(path)
    return path


@pytest.fixture
def empty_server(app):
    server = LiveServer(app)
    yield server
    server.close()


def both_sizes(page, name: str) -> None:
    screenshot(page, f"{name}-zh-1280")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"{name}-zh-360x740")
    page.set_viewport_size({"width": 1280, "height": 860})


@pytest.mark.photos
def test_a_company_starts_empty_and_runs_its_first_checks_and_rounds(app, empty_server, browser, tmp_path):
    base = empty_server.url
    now = datetime.now(SHANGHAI)
    today = now.date()
    desk = _context(browser, desk=True)
    admin = desk.new_page()

    # The first administrator, on the one-time first-run page.
    admin.goto(f"{base}/login")
    admin.wait_for_url("**/setup")
    admin.fill("#username", "boss")
    admin.fill("#display_name", "王总")
    admin.fill("#password", PASSWORD)
    admin.click("button[type=submit]")
    admin.wait_for_url("**/places")

    # A site, then its places from a spreadsheet: a preview first, then apply.
    admin.fill("#name", "滨江中心")
    admin.fill("#code", "BJ")
    admin.fill("#address", "滨江路 1 号")
    admin.click("form button.primary")
    admin.wait_for_url("**/places/sites/*")
    site_url = admin.url
    admin.click("a[href$='/import']")
    admin.set_input_files("#file", str(places_workbook(tmp_path / "places.xlsx")))
    admin.click("form[enctype] button")
    admin.wait_for_selector("[data-import-preview]")
    assert "47" in admin.inner_text("[data-count=create]")  # 3 buildings + 6 floors + 30 areas + 8 checkpoints
    assert admin.inner_text("[data-count=archive]") == "停用 0 个"
    both_sizes(admin, "places-import-preview")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Location.id))) == 0  # the preview changed nothing
    admin.click("[data-import-preview] button.primary")
    admin.wait_for_url(site_url)
    assert admin.locator("[data-place-tree] li").count() == 47
    both_sizes(admin, "places-tree")
    with app.app_context():
        site = db.session.scalar(sa.select(Site))
        site_id = site.id
        restroom = db.session.scalar(sa.select(Location).where(Location.name == "男卫生间").order_by(Location.id))
        restroom_id = restroom.id
        codes = {
            c.name: c.qr_code for c in db.session.scalars(sa.select(Location).where(Location.kind == "checkpoint"))
        }

    # Two people.
    for username, name, role, department in [
        ("wuxia", "吴霞", "cleaner", "保洁部"),
        ("sunjie", "孙杰", "guard", "保安部"),
    ]:
        admin.goto(f"{base}/people")
        admin.fill("#username", username)
        admin.fill("#display_name", name)
        admin.select_option("#role", role)
        admin.select_option("#department_id", label=department)
        admin.check(f"input[name=sites][value='{site_id}']")
        admin.fill("#password", PASSWORD)
        admin.click("form:has(#username) button.primary")
        admin.wait_for_selector(f"text={username}")

    # The restroom standard daily for the cleaner, from the day before yesterday.
    admin.goto(f"{base}/schedules?site={site_id}")
    admin.select_option("#template_id", label="清洁标准：卫生间")
    admin.select_option("#place", f"place:{restroom_id}")
    admin.select_option("#who", "person")
    admin.select_option("#assignee_id", label="吴霞 · 保洁员")
    admin.select_option("#rule", "daily")
    admin.fill("#starts_on", (today - timedelta(days=2)).isoformat())
    admin.click("form button.primary")
    admin.wait_for_selector("[data-schedules] li.row")
    both_sizes(admin, "schedules-list")

    # A night route whose first round is due now, through two of the imported checkpoints.
    admin.goto(f"{base}/patrol/routes")
    admin.fill("#name", "夜间巡逻")
    admin.fill("#start", f"{now - timedelta(minutes=5):%H:%M}")
    admin.fill("#end", f"{now + timedelta(hours=4):%H:%M}")
    admin.click("form button.primary")
    admin.wait_for_url("**/patrol/routes/*")  # the new route's page
    for name in ("A座消防门", "A座配电房"):
        admin.select_option("#ex-location_id", label=f"A座 · {'1F' if name == 'A座消防门' else '2F'} · {name}")
        admin.click("button[value=existing]")
        admin.wait_for_selector(f"ol.list li:has-text('{name}')")

    # The cleaner: three restroom checks on Today (two days running late); she does two, offline.
    cleaner_phone = _context(browser)
    cleaner = cleaner_phone.new_page()
    log_in(cleaner, base, "wuxia", PASSWORD)
    wait_until_offline_ready(cleaner)
    due = cleaner.eval_on_selector_all("a.row[href*='assignment=']", "links => links.map(a => a.href)")
    assert len(due) == 3
    today_text = cleaner.inner_text("main")
    assert f"{today - timedelta(days=2):%m-%d}" in today_text and f"{today - timedelta(days=1):%m-%d}" in today_text
    screenshot(cleaner, "first-day-cleaner-today-zh-360x740")
    empty_server.stop()
    cleaner_phone.set_offline(True)
    for url in due[1:]:  # yesterday's (late) and today's; the day before stays missed
        cleaner.goto(url)
        fill_restroom_check(cleaner, None, fail=None)
    empty_server.start()
    cleaner_phone.set_offline(False)
    cleaner.goto(f"{base}/today")
    wait_until(cleaner, "document.querySelectorAll('#outbox-list li[data-status=sent]').length === 2")

    # The guard walks the first checkpoint of the round, offline.
    guard_phone = _context(browser)
    guard = guard_phone.new_page()
    log_in(guard, base, "sunjie", PASSWORD)
    wait_until_offline_ready(guard)
    guard.click("a.walk-link")
    guard.wait_for_selector("[data-scan-form]")
    walk_url = guard.url
    empty_server.stop()
    guard_phone.set_offline(True)
    guard.goto(walk_url)
    guard.fill("#code", codes["A座消防门"])
    guard.click("[data-scan-form] button")
    guard.wait_for_selector("form[data-checklist][data-ready=true]")
    for item in guard.locator("fieldset[data-item]").all():
        item.locator("label.opt-pass").click()
    guard.click(".actionbar button[value=review]")
    guard.click("#client-summary button[value=submit]")
    guard.wait_for_url("**/walk")
    empty_server.start()
    guard_phone.set_offline(False)
    guard.goto(f"{base}/today")
    wait_until(guard, "document.querySelectorAll('#outbox-list li[data-status=sent]').length === 1")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PatrolScan.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Inspection.id))) == 3  # two checks and the scan's

    # The calendar: the day before yesterday missed, yesterday late, today done.
    admin.goto(f"{base}/schedules/calendar?site={site_id}&month={(today - timedelta(days=2)):%Y-%m}")
    admin.wait_for_selector("[data-calendar]")

    def cell(day, status: str) -> str:
        selector = f"tr[data-day='{day.isoformat()}'] td[data-status={status}]"
        if admin.locator(selector).count() == 0:  # the month turned: the earlier days are last month's
            admin.goto(f"{base}/schedules/calendar?site={site_id}&month={day:%Y-%m}")
        return admin.inner_text(selector).strip()

    assert cell(today - timedelta(days=2), "missed") == "1"
    assert cell(today - timedelta(days=1), "late") == "1"
    assert cell(today, "done") == "1"
    missed_day = today - timedelta(days=2)
    admin.goto(f"{base}/schedules/calendar?site={site_id}&month={missed_day:%Y-%m}&day={missed_day.isoformat()}#day")
    both_sizes(admin, "schedules-calendar")
    for context in (desk, cleaner_phone, guard_phone):
        assert context.errors == [], context.errors
        context.close()
