"""The three checks on a phone: a lead fails "no odour" offline, the cleaner fixes it from her
Today page, the lead's re-check closes it, and the board counts it all."""

import time
from datetime import date

import pytest
import sqlalchemy as sa

from foundation.org import User
from inspections.cleaning import assign_area
from tests.e2e.conftest import (
    _context,
    fill_restroom_check,
    log_in,
    outbox_statuses,
    screenshot,
    wait_until_offline_ready,
)
from tests.helpers import area, jpeg_bytes
from tickets.models import Ticket
from webapp.extensions import db


def _rework(app) -> Ticket | None:
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.kind == "rework"))
        if ticket is not None:
            db.session.expunge(ticket)
        return ticket


def _wait_until_sent(page, n: int, timeout_s: float = 20) -> None:
    """Until the phone's outbox holds ``n`` records the server took."""
    deadline = time.monotonic() + timeout_s
    while page.evaluate("fieldStore.all('outbox').then(rs => rs.filter(r => r.status === 'sent').length)") < n:
        assert time.monotonic() < deadline, f"fewer than {n} records sent"
        page.wait_for_timeout(200)


@pytest.mark.photos
def test_a_leads_offline_patrol_opens_rework_that_the_cleaner_fixes_and_the_recheck_closes(
    app, live_server, browser, tmp_path
):
    with app.app_context():  # 陈梅 has the 1F men's restroom on every shift, whenever this test runs
        chen = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        restroom = area("BY", "restroom")
        restroom_name, chen_id = restroom.full_name, chen.id
        assign_area(db.session, restroom, chen, "late", date(2026, 11, 1))
        db.session.commit()
    before, after = tmp_path / "before.jpg", tmp_path / "after.jpg"
    before.write_bytes(jpeg_bytes((2400, 1800), color="#8a6"))
    after.write_bytes(jpeg_bytes((2400, 1800), color="#eee"))

    lead_phone, cleaner_phone = _context(browser), _context(browser)
    lead = lead_phone.new_page()
    log_in(lead, live_server.url, "zhaoling")
    wait_until_offline_ready(lead)
    restroom_check = lead.get_attribute("a.row:has-text('清洁标准：卫生间')", "href")

    # The lead's patrol in the restroom, with no signal.
    live_server.stop()
    lead_phone.set_offline(True)
    lead.goto(live_server.url + restroom_check)
    fill_restroom_check(lead, before, fail="odour")
    assert outbox_statuses(lead) == ["waiting"]
    live_server.start()
    lead_phone.set_offline(False)
    lead.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    rework = _rework(app)
    assert rework is not None and rework.state == "assigned" and rework.assignee_id == chen_id

    # The cleaner sees it on Today, starts, and marks it fixed with an after photo.
    cleaner = cleaner_phone.new_page()
    log_in(cleaner, live_server.url, "chenmei")
    cleaner.wait_for_selector(f"a.row:has-text('{rework.number}')")
    screenshot(cleaner, "cleaning-cleaner-today-rework-zh-360x740")
    cleaner.click(f"a.row:has-text('{rework.number}')")
    cleaner.click("form.transition[data-to=in_progress] button")
    cleaner.wait_for_selector("form.transition[data-to=resolved]", timeout=20000)
    cleaner.set_input_files("form.transition[data-to=resolved] input[type=file]", str(after))
    cleaner.click("form.transition[data-to=resolved] button")
    _wait_until_sent(cleaner, 2)
    assert _rework(app).state == "resolved"
    # Nobody can close it by hand: only a re-check does.
    assert cleaner.locator("form.transition[data-to=closed]").count() == 0

    # The lead's re-check passes every item: the rework closes.
    lead.goto(live_server.url + restroom_check)
    fill_restroom_check(lead, None, fail=None)
    _wait_until_sent(lead, 2)
    assert _rework(app).state == "closed"

    lead.goto(f"{live_server.url}/tickets/{rework.number}")
    assert lead.locator(".before-after img").count() == 2  # the failure and the fix, side by side
    assert "复查合格" in lead.inner_text("#ticket")
    screenshot(lead, "cleaning-rework-before-after-zh-360x740")

    lead.goto(f"{live_server.url}/cleaning")
    card = lead.locator(f"li.area[data-area='{restroom_name}']").first
    patrols = card.locator("[data-check=patrol]")
    assert patrols.inner_text() == "巡查 2/4" and patrols.get_attribute("data-short") == "2"
    assert "得分 100" in card.inner_text() and "未完成返工" not in card.inner_text()
    screenshot(lead, "cleaning-board-zh-360x740")
    lead.goto(f"{live_server.url}/cleaning/scores")
    assert "陈梅" in lead.inner_text("table.figures")
    screenshot(lead, "cleaning-scores-zh-360x740")
    errors = lead_phone.errors + cleaner_phone.errors
    lead_phone.close()
    cleaner_phone.close()
    assert errors == []
