"""Fit-out on phones: an engineer records a violation offline with two photos; the manager sees
the rectification notice and prints it; a re-inspection passes it; three departments sign the
completion acceptance and the deposit comes back minus the penalty."""

import io
import time

import pypdfium2
import pytest
import sqlalchemy as sa
from PIL import Image

from inspections.fitout import FitoutProject
from inspections.records import Answer, Inspection
from tests.e2e.conftest import (
    _context,
    log_in,
    outbox_statuses,
    screenshot,
    wait_until,
    wait_until_offline_ready,
)
from tests.e2e.conftest import (
    sign as sign_pad,
)
from tests.helpers import jpeg_bytes
from tickets.models import Ticket
from webapp.extensions import db


def _wait_until_sent(page, n: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while page.evaluate("fieldStore.all('outbox').then(rs => rs.filter(r => r.status === 'sent').length)") < n:
        assert time.monotonic() < deadline, f"fewer than {n} records sent"
        page.wait_for_timeout(200)


def _fill(page, fail: str | None = None, photos=(), sign: bool = False) -> None:
    """Pass every pass/fail item (fail one with photos), sign if asked, review and send."""
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    for item in page.locator("fieldset[data-item]:has(label.opt-pass)").all():
        item.locator("label.opt-pass").click()
    for choice in page.locator("fieldset[data-item] .choices label.opt").all()[:1]:
        choice.click()  # 施工进度: the first option
    if fail:
        page.click(f"label[for='a-{fail}-fail']")
        page.set_input_files(f"#item-{fail} input[type=file]", [str(p) for p in photos])
        wait_until(page, f"document.querySelectorAll('#item-{fail} .thumbs img').length === {len(photos)}")
    if sign:
        sign_pad(page)
    page.click(".actionbar button[value=review]")
    page.wait_for_selector("#client-summary:not([hidden])")
    page.click("#client-summary button[value=submit]")
    page.wait_for_url("**/today")


def _mostly_light_with_dark_strokes(image) -> bool:
    grey = image.convert("L").histogram()
    return sum(grey[201:]) / sum(grey) > 0.85 and sum(grey[:80]) > 0


def _signature_reads_as_drawn(app, page, base: str) -> None:
    """The strokes drawn on the phone are dark on white in the display copy, the thumbnail and
    the record's PDF (once every copy was a black box: the transparent canvas lost its alpha)."""
    with app.app_context():
        answer = db.session.scalars(
            sa.select(Answer).join(Inspection).where(Answer.item_id == "signature").order_by(Inspection.received_at)
        ).first()
        sha, inspection_id = answer.value, answer.inspection_id
    for path in (f"/photos/{sha}", f"/photos/{sha}/thumb"):
        with Image.open(io.BytesIO(page.request.get(base + path).body())) as image:
            assert _mostly_light_with_dark_strokes(image), path
    document = pypdfium2.PdfDocument(page.request.get(base + f"/inspections/{inspection_id}.pdf").body())
    images = [o for p in document for o in p.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    assert images and all(_mostly_light_with_dark_strokes(o.get_bitmap().to_pil()) for o in images)
    document.close()


@pytest.mark.photos
def test_violation_offline_to_notice_reinspection_acceptance_and_refund(app, live_server, browser, tmp_path):
    photos = [tmp_path / "wall.jpg", tmp_path / "wall-close.jpg"]
    photos[0].write_bytes(jpeg_bytes((2400, 1800), color="#b85"))
    photos[1].write_bytes(jpeg_bytes((1800, 2400), color="#875"))
    with app.app_context():
        project_id = db.session.scalar(sa.select(FitoutProject.id))
    base = live_server.url

    # The engineer, in the unit with no signal: the work departs from the approved drawings.
    engineer_phone = _context(browser)
    engineer = engineer_phone.new_page()
    log_in(engineer, base, "lihua")
    wait_until_offline_ready(engineer)
    daily = engineer.get_attribute("a.row:has-text('二装日常巡查：工程部')", "href")
    live_server.stop()
    engineer_phone.set_offline(True)
    engineer.goto(base + f"/fitout/{project_id}")  # the project page is kept on the phone too
    assert "华艺装饰工程有限公司" in engineer.inner_text("main")
    engineer.goto(base + daily)
    _fill(engineer, fail="drawings", photos=photos)
    assert outbox_statuses(engineer) == ["waiting"]
    live_server.start()
    engineer_phone.set_offline(False)
    _wait_until_sent(engineer, 1)
    with app.app_context():
        violation = db.session.scalar(sa.select(Ticket).where(Ticket.kind == "violation"))
        number, photo_count = violation.number, len(violation.photos)
    assert photo_count == 2

    # The manager sees the notice, prints it, and charges a penalty against the violation.
    office = _context(browser)
    manager = office.new_page()
    log_in(manager, base, "wangjl")
    manager.goto(base + f"/fitout/{project_id}")
    manager.wait_for_selector(f"#violations a.row:has-text('{number}')")
    assert "工程部" in manager.inner_text("#today-inspections")
    screenshot(manager, "fitout-project-manager-zh-360x740")
    pdf = manager.request.get(base + f"/fitout/{project_id}/notices/{number}.pdf")
    document = pypdfium2.PdfDocument(pdf.body())
    text = document[0].get_textpage().get_text_range()
    assert "整改期限" in text and number in text and "按报审图纸施工" in text
    images = [o for page in document for o in page.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    assert len(images) == 2  # both photos, stamped
    document.close()
    manager.fill("#amount", "800")
    manager.fill("#reason", "未按审批图纸施工，拆改隔墙")
    manager.select_option("#violation_id", label=manager.locator("#violation_id option").nth(1).inner_text())
    manager.click("[data-penalty]")
    manager.wait_for_selector("#deposit [data-balance]:has-text('¥49,200.00')")

    # The re-inspection passes it.
    engineer.goto(base + daily)
    _fill(engineer)
    _wait_until_sent(engineer, 2)
    with app.app_context():
        assert db.session.scalar(sa.select(Ticket.state).where(Ticket.number == number)) == "closed"

    # Completion acceptance: customer service, engineering and security sign on their phones.
    for username, page, phone in [
        ("lihua", engineer, engineer_phone),
        ("liuxia", None, None),
        ("zhangwei", None, None),
    ]:
        if page is None:
            phone = _context(browser)
            page = phone.new_page()
            log_in(page, base, username)
        page.goto(base + f"/fitout/{project_id}")
        page.click("#acceptances a:has-text('二装竣工验收签字')")
        _fill(page, sign=True)
        _wait_until_sent(page, 3 if username == "lihua" else 1)
        if username != "lihua":
            errors = phone.errors
            phone.close()
            assert errors == []

    manager.goto(base + f"/fitout/{project_id}")
    signed = manager.locator("#acceptances [data-signoff^=completion-]:has-text('✓')")
    assert signed.count() == 3
    _signature_reads_as_drawn(app, manager, base)
    manager.click("[data-refund]")
    manager.wait_for_selector("[data-state=deposit_refunded]")
    assert "-¥49,200.00" in manager.inner_text("#deposit") and "¥0.00" in manager.inner_text("#deposit h2")
    screenshot(manager, "fitout-refunded-zh-360x740")
    errors = engineer_phone.errors + office.errors
    engineer_phone.close()
    office.close()
    assert errors == []
