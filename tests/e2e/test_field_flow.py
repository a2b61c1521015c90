"""A cleaner's restroom check with a failed item and a photo, seen by the supervisor."""

import re

import pytest
import sqlalchemy as sa

from inspections.records import Inspection
from tests.e2e.conftest import fill_restroom_check, log_in, log_out, restroom_url, screenshot, wait_until
from tests.helpers import jpeg_bytes
from tickets.models import Ticket
from webapp.extensions import db


@pytest.mark.photos
def test_cleaner_fails_an_item_with_a_photo_and_the_supervisor_sees_the_rework(app, live_server, phone, tmp_path):
    page = phone
    log_in(page, live_server.url, "chenmei")
    assert page.locator("h1").first.inner_text().startswith("柏彦大厦")
    page.click("a.row:has-text('清洁标准：卫生间')")
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    assert page.locator("fieldset[data-item]").count() == 10
    assert page.is_visible("text=镜子明净，光亮，无灰尘")  # the standard's wording is on the item
    screenshot(page, "checklist-zh-360x740", full_page=False)

    # One thumb: every answer is a large label, well over 44 px tall and most of the width.
    pass_label = page.locator("label[for='a-fixtures-pass']").bounding_box()
    assert pass_label["height"] >= 48 and pass_label["width"] >= 120
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing sideways
    assert page.get_attribute("#item-odour input[type=file]", "capture") == "environment"

    # Review with an item failed and no photo: the problem is named next to the item.
    page.click("label[for='a-odour-fail']")
    page.click(".actionbar button[value=review]")
    assert "不合格项必须拍照。" in page.inner_text("#item-odour .error")

    photo = tmp_path / "odour.jpg"
    photo.write_bytes(jpeg_bytes((4000, 3000), color="#8a6"))  # a 12 MP camera photo
    fill_restroom_check(page, photo)
    row = page.locator("#outbox-list li").first
    row.locator(".badge.ok").wait_for()  # sent
    number = re.search(r"BY-\d{8}-\d{4}", row.inner_text()).group(0)
    screenshot(page, "today-after-send-zh-360x740")

    log_out(page)
    log_in(page, live_server.url, "zhaoling")
    page.click("nav >> text=工单")
    page.click(f"a.row:has-text('{number}')")
    assert "返工" in page.inner_text("main")
    image = page.locator("main .before-after img").first  # the failure photo, beside the fix to come
    image.wait_for()
    wait_until(page, "img => img.complete && img.naturalWidth > 0", image.element_handle())
    screenshot(page, "rework-ticket-supervisor-zh-360x740")

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 1
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
        assert ticket.kind == "rework" and len(ticket.photos) == 1
        from foundation.photos import Photo

        stored = db.session.get(Photo, ticket.photos[0].photo_sha256)
        assert max(stored.width, stored.height) <= 1600 and stored.byte_size < 400_000  # downscaled on the phone


def test_the_review_box_is_scrolled_into_view_below_the_sticky_tabs(live_server, phone):
    """It scrolled under the tab bar, its first line hidden, on a 360 px phone."""
    log_in(phone, live_server.url, "chenmei")
    phone.goto(live_server.url + restroom_url(phone))
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    phone.locator("fieldset[data-item] label.opt-pass").first.click()
    phone.click(".actionbar button[value=review]")
    phone.wait_for_selector("#client-summary:not([hidden])")
    wait_until(phone, "() => document.getElementById('client-summary').getBoundingClientRect().top > 0")
    tabs = phone.locator(".tabs").bounding_box()
    summary = phone.locator("#client-summary").bounding_box()
    assert summary["y"] >= tabs["y"] + tabs["height"] - 1, (summary, tabs)
    screenshot(phone, "review-below-tabs-zh-360", full_page=False)
