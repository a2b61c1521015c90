"""A company's first week, from an empty database, on the app the README's own commands serve
(gunicorn and the job worker, on SQLite, exactly as written): a site, its places and people
from spreadsheets of the company's own, a checklist from an XLSForm workbook of its own
(groups, a note, pass/fail with N/A, yes/no, a limited decimal, a show-if photo, a signature),
published and scheduled daily; the cleaner does it offline on a 360 px phone with a photo and
a signature and finds it in her outbox, offline; the manager reads the record, its PDF and the
ticket in both languages; a changed checklist reaches the phone.

The browser reaches gunicorn through a relay the test can cut, so "offline" is the network
really gone, for the page and its service worker alike."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2
import sqlalchemy as sa

from foundation.org import Location, Site
from inspections.checklists import ChecklistTemplate
from inspections.records import Answer, Inspection
from tests.e2e.conftest import (
    Relay,
    _context,
    log_in,
    outbox_statuses,
    screenshot,
    sign,
    wait_until,
    wait_until_offline_ready,
)
from tests.e2e.test_company_from_empty import places_workbook
from tests.e2e.test_fitout import _mostly_light_with_dark_strokes
from tests.helpers import jpeg_bytes
from tests.readme_company import ADDRESS, readme_company
from tickets.models import Ticket

PASSWORD = "first-week-1"
TITLE = "卫生间日检（滨江）"
SURVEY = [
    ["type", "name", "label::zh", "label::en", "hint::zh", "hint::en", "required", "relevant", "constraint",
     "appearance", "unit"],
    ["begin_group", "fittings", "洁具与镜面", "Fittings and mirror", "", "", "", "", "", "", ""],
    ["note", "sign_out", "清洁前放置“小心地滑”告示牌", "Put out the wet-floor sign first", "", "", "", "", "", "", ""],
    ["select_one pass_fail_na", "fixtures", "卫生洁具", "Sanitary fittings", "卫生洁具做到清洁，无水迹，无异味。",
     "Clean, no water marks, no smell.", "yes", "", "", "", ""],
    ["select_one pass_fail_na", "mirror", "镜子", "Mirror", "镜子明净，光亮，无灰尘，无污尘，无手印，无水迹。",
     "Clear and bright: no dust, smears, prints or water marks.", "yes", "", "", "", ""],
    ["image", "mirror_photo", "镜子照片", "Photo of the mirror", "", "", "yes", "${mirror} = 'fail'", "", "", ""],
    ["end_group", "", "", "", "", "", "", "", "", "", ""],
    ["begin_group", "supplies", "用品", "Supplies", "", "", "", "", "", "", ""],
    ["select_one yes_no", "stocked", "厕纸、香精球及洗手液充足", "Paper, fragrance and soap stocked", "", "", "yes", "",
     "", "", ""],
    ["decimal", "dilution", "消毒液配比", "Disinfectant dilution", "", "", "yes", "", ". >= 0.5 and . <= 2", "", "%"],
    ["end_group", "", "", "", "", "", "", "", "", "", ""],
    ["image", "signature", "保洁员签名", "Cleaner's signature", "", "", "yes", "", "", "signature", ""],
]  # fmt: skip
CHOICES = [
    ["list_name", "name", "label::zh", "label::en"],
    ["pass_fail_na", "pass", "合格", "Pass"],
    ["pass_fail_na", "fail", "不合格", "Fail"],
    ["pass_fail_na", "na", "不适用", "N/A"],
    ["yes_no", "yes", "是", "Yes"],
    ["yes_no", "no", "否", "No"],
]
PEOPLE = [
    ["用户名", "姓名", "角色", "部门", "项目", "初始密码"],
    ["wuxia", "吴霞", "保洁员", "保洁部", "BJ", PASSWORD],
    ["liuli", "刘丽", "客服经理", "客服部", "BJ", PASSWORD],
]


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _screens(page, name: str) -> None:
    """The desk's page as it is, and at 360 px, where a manager on a round reads it."""
    screenshot(page, f"first-week-{name}-1280")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot(page, f"first-week-{name}-360")
    page.set_viewport_size({"width": 1280, "height": 860})


def _pdf_text(page, url: str) -> tuple[str, list]:
    document = pypdfium2.PdfDocument(page.request.get(url).body())
    text = "".join(p.get_textpage().get_text_range() for p in document)
    images = [
        o.get_bitmap().to_pil() for p in document for o in p.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    ]
    document.close()
    return text, images


def test_a_companys_first_week_on_the_readmes_own_app(browser, tmp_path):
    with readme_company(tmp_path, "sqlite", PASSWORD) as company:
        relay = Relay(ADDRESS)
        try:
            _first_week(company, relay, browser, tmp_path)
        finally:
            relay.stop()


def _first_week(company, relay, browser, tmp_path) -> None:
    base = relay.url
    database = sa.create_engine(company.database)
    query = sa.orm.sessionmaker(database)
    contexts = []

    def context(**kind):
        contexts.append(_context(browser, **kind))
        return contexts[-1]

    # The administrator the README made: a site, then its places and people from spreadsheets.
    admin = context(desk=True).new_page()
    log_in(admin, base, "boss", PASSWORD)
    admin.goto(f"{base}/places")
    admin.fill("#name", "滨江中心")
    admin.fill("#code", "BJ")
    admin.click("form button.primary")
    admin.wait_for_url("**/places/sites/*")
    site_url = admin.url
    admin.click("a[href$='/import']")
    admin.set_input_files("#file", str(places_workbook(tmp_path / "places.xlsx")))
    admin.click("form[enctype] button")
    admin.click("[data-import-preview] button.primary")
    admin.wait_for_url(site_url)
    admin.goto(f"{base}/people/import")
    admin.set_input_files("#file", str(_workbook(tmp_path / "people.xlsx", {"人员": PEOPLE})))
    admin.click("form[enctype] button")
    admin.wait_for_selector("[data-import-preview]")
    _screens(admin, "people-import-preview-zh")
    admin.click("[data-import-preview] button.primary")
    admin.wait_for_selector("text=liuli")
    with query() as session:
        site_id = session.scalar(sa.select(Site.id))
        restrooms = session.scalars(
            sa.select(Location.id).where(Location.area_type == "restroom").order_by(Location.id)
        ).all()

    # The company's own workbook, imported as a cleaning checklist for the site, then published.
    workbook = _workbook(
        tmp_path / "restroom.xlsx",
        {
            "survey": SURVEY,
            "choices": CHOICES,
            "settings": [["form_title", "form_id", "version", "default_language"], [TITLE, "restroom_daily",
                                                                                    "2026120301", "zh"]],
        },
    )  # fmt: skip
    admin.goto(f"{base}/builder/import")
    admin.set_input_files("#file", str(workbook))
    admin.select_option("#kind", "cleaning")
    admin.select_option("#site_id", str(site_id))
    admin.check("input[name=roles][value=cleaner]")
    admin.select_option("#area_type", "restroom")
    admin.click("button.primary")
    admin.wait_for_selector("li[data-item=mirror]")
    _screens(admin, "builder-imported-zh")
    with query() as session:
        template_id = session.scalar(sa.select(ChecklistTemplate.id).where(ChecklistTemplate.title == TITLE))
    admin.goto(f"{base}/builder/{template_id}/publish")
    admin.fill("#note", "按公司表格导入")
    admin.click("button.primary")
    admin.wait_for_url(f"**/builder/{template_id}/versions")

    # Daily, for the cleaner, at the first restroom, from today.
    admin.goto(f"{base}/schedules?site={site_id}")
    admin.select_option("#template_id", label=TITLE)
    admin.select_option("#place", f"place:{restrooms[0]}")
    admin.select_option("#who", "person")
    admin.select_option("#assignee_id", label="吴霞 · 保洁员")
    admin.select_option("#rule", "daily")
    admin.fill("#starts_on", datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat())  # the site's today
    admin.click("form button.primary")
    admin.wait_for_selector("[data-schedules] li.row")
    _screens(admin, "schedule-zh")

    # The cleaner, on a 360 px phone: the check is on Today; the signal goes; she does it.
    phone_context = context()
    phone = phone_context.new_page()
    log_in(phone, base, "wuxia", PASSWORD)
    wait_until_offline_ready(phone)
    check = phone.locator(f"li[data-assignment]:has-text('{TITLE}')")
    assignment = check.get_attribute("data-assignment")
    href = check.locator("a").get_attribute("href")
    screenshot(phone, "first-week-cleaner-today-zh-360")
    relay.stop()
    phone_context.set_offline(True)
    phone.goto(base + href)
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    assert phone.is_visible("#item-sign_out") and not phone.is_visible("#item-mirror_photo")
    phone.click("label[for='a-fixtures-na']")  # the manual's N/A: no such fitting here
    phone.click("label[for='a-mirror-fail']")
    assert phone.is_visible("#item-mirror_photo")  # the show-if photo, offline
    # One way to photograph the failure: the mirror's photo item; the mirror itself offers no camera.
    assert phone.locator("#item-mirror input[type=file]").count() == 0
    assert phone.locator("#item-fixtures input[type=file]").count() == 1
    mirror = tmp_path / "mirror.jpg"
    mirror.write_bytes(jpeg_bytes((1600, 1200), color="#9ab"))
    phone.set_input_files("#item-mirror_photo input[type=file]", str(mirror))
    wait_until(phone, "document.querySelectorAll('#item-mirror_photo .thumbs img').length === 1")
    phone.click("label[for='a-stocked-yes']")
    phone.fill("#a-dilution", "5")
    sign(phone)
    phone.click(".actionbar button[value=review]")
    phone.wait_for_selector("#item-dilution.has-error, #item-dilution .error:not([hidden])")
    screenshot(phone, "first-week-cleaner-limit-refused-zh-360")
    phone.fill("#a-dilution", "1.5")
    screenshot(phone, "first-week-cleaner-check-zh-360")
    phone.click(".actionbar button[value=review]")
    phone.wait_for_selector("#client-summary:not([hidden])")
    screenshot(phone, "first-week-cleaner-review-zh-360", full_page=False)
    phone.click("#client-summary button[value=submit]")
    phone.wait_for_url("**/today")
    wait_until(
        phone, "(id) => document.querySelector(`li[data-assignment='${id}'] [data-done-waiting]`) !== null", assignment
    )
    screenshot(phone, "first-week-cleaner-done-waiting-zh-360")
    phone.click("#sync-status [data-status-text]")  # "1 条待发送": her outbox, kept on the phone
    phone.wait_for_url("**/outbox")
    phone.wait_for_selector("#outbox-list li[data-status=waiting]")
    assert phone.locator("[data-status-others]").is_hidden()
    screenshot(phone, "first-week-cleaner-outbox-offline-zh-360")

    # The signal comes back: the record goes, with its photo and signature.
    relay.start()
    phone_context.set_offline(False)
    wait_until(phone, "fieldStore.all('outbox').then(rs => rs.every(r => r.status === 'sent'))")
    assert outbox_statuses(phone) == ["sent"]
    with query() as session:
        inspection = session.scalar(sa.select(Inspection))
        answers = {
            a.item_id: a for a in session.scalars(sa.select(Answer).where(Answer.inspection_id == inspection.id))
        }
        ticket = session.scalar(sa.select(Ticket))
        assert answers["fixtures"].value == "na" and answers["mirror"].value == "fail"
        assert len(answers["mirror_photo"].photos) == 1 and answers["signature"].value
        assert answers["dilution"].value == 1.5
        assert ticket.kind == "rework"  # a cleaning checklist's failure is rework, as the manual has it
        # No duty roster yet: the rework is the scheduled cleaner's to redo, with the photo she took
        # in the show-if item under the failed one as its "before".
        assert ticket.assignee.display_name == "吴霞"
        assert [p.photo_sha256 for p in ticket.photos] == [p.photo_sha256 for p in answers["mirror_photo"].photos]
        inspection_id, number = inspection.id, ticket.number

    # The manager reads the record, its PDF and the ticket, in Chinese and then in English.
    office = context(desk=True)
    manager = office.new_page()
    log_in(manager, base, "liuli", PASSWORD)
    record_url = f"{base}/inspections/{inspection_id}"
    for language, words, foreign in [
        ("zh", ["洁具与镜面", "镜子", "不适用", "消毒液配比", "用品"], ["Mirror", "Supplies"]),
        ("en", ["Fittings and mirror", "Mirror", "N/A", "Disinfectant dilution", "Supplies"], ["镜子", "用品"]),
    ]:
        if language == "en":
            manager.click("footer button[value=en]")
            manager.wait_for_selector("footer button[value=en][aria-pressed=true]")
        manager.goto(record_url)
        text = manager.inner_text("main")
        assert all(w in text for w in words), (language, text)
        answers = " ".join(manager.locator("[data-answers]").all_inner_texts())  # (a ticket's title is as written)
        assert not any(w in answers for w in foreign), (language, answers)
        _screens(manager, f"record-{language}")
        pdf_text, images = _pdf_text(manager, f"{record_url}.pdf")
        assert all(w in pdf_text for w in words[:2]), (language, pdf_text)
        signature = [i for i in images if i.width > 2 * i.height]  # the wide one: the signature
        assert signature and all(_mostly_light_with_dark_strokes(i) for i in signature)
        manager.goto(f"{base}/tickets/{number}")
        department = {"zh": "保洁部", "en": "Cleaning"}[language]
        assert department in manager.inner_text("main")
        _screens(manager, f"ticket-{language}")

    # The checklist changes; the phone gets the new version, and keeps it for offline use.
    admin.goto(f"{base}/builder/{template_id}")
    admin.click("form[action$='/draft'] button")
    admin.click("a[href*='/item'][href$='section=1']")  # "add an item here", under 用品
    admin.fill("#label", "下水道口无集水")
    admin.select_option("#type", "pass_fail")
    admin.click("button.primary")  # the key left empty: one is made from the label
    key = admin.get_attribute("li[data-item]:has-text('下水道口无集水')", "data-item")
    assert key.isascii() and key.startswith("xia"), key
    admin.goto(f"{base}/builder/{template_id}/publish")
    admin.fill("#note", "增加下水道口")
    admin.click("button.primary")
    admin.wait_for_url(f"**/builder/{template_id}/versions")
    phone.goto(f"{base}/today")  # she opens Today: the kept copy of her check is fetched again at once
    wait_until(
        phone,
        """async (url) => {
            const kept = await (await caches.open(`pages-${document.body.dataset.userId}`)).match(url);
            return kept !== undefined && (await kept.text()).includes('下水道口无集水');
        }""",
        base + href,
    )
    relay.stop()
    phone_context.set_offline(True)
    phone.goto(base + href)
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    assert phone.evaluate("JSON.parse(document.getElementById('checklist-data').textContent).template_version") == 2
    assert phone.is_visible(f"#item-{key}:has-text('下水道口无集水')")
    screenshot(phone, "first-week-cleaner-version-2-offline-zh-360")
    relay.start()

    for each in contexts:
        assert each.errors == [], each.errors
        each.close()
    database.dispose()
