"""Offline for real: the phone keeps what was recorded, sends it once, and leaves nothing behind."""

import contextlib

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError

from inspections.checklists import ChecklistTemplate, current_version, publish_template_version
from inspections.records import Inspection
from sync.models import AppliedMutation
from tests.e2e.conftest import (
    count_rows,
    count_sync_runs,
    fill_restroom_check,
    go_offline,
    go_online,
    log_in,
    outbox_statuses,
    phone_storage,
    restroom_url,
    screenshot,
    wait_for,
    wait_for_draft,
    wait_for_sync_run,
    wait_until,
    wait_until_offline_ready,
)
from tests.helpers import jpeg_bytes
from tickets.models import Ticket
from webapp.extensions import db


@pytest.mark.photos
def test_a_check_filled_offline_survives_reload_and_a_new_tab_then_sends_once(
    app, live_server, phone_context, tmp_path
):
    page = phone_context.new_page()
    log_in(page, live_server.url, "chenmei")
    wait_until_offline_ready(page)
    restroom = restroom_url(page)

    go_offline(phone_context, live_server)
    page.goto(live_server.url + restroom)  # from the phone's own cache
    photo = tmp_path / "odour.jpg"
    photo.write_bytes(jpeg_bytes((3000, 2000), color="#a86"))
    fill_restroom_check(page, photo)
    assert outbox_statuses(page) == ["waiting"]
    page.wait_for_selector("#sync-status[data-waiting='1']")  # the bar renders after the list
    assert "1 条待发送" in page.inner_text("#sync-status")
    screenshot(page, "today-offline-waiting-zh-360x740")

    page.reload()
    page.wait_for_selector("#outbox-list li")
    assert outbox_statuses(page) == ["waiting"]
    page.close()
    page = phone_context.new_page()  # the tab was closed; a new one opens the app
    page.goto(live_server.url + "/today")
    page.wait_for_selector("#outbox-list li")
    assert outbox_statuses(page) == ["waiting"]
    assert count_rows(app, Inspection) == 0

    go_online(phone_context, live_server)
    page.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    assert count_rows(app, Inspection) == 1
    assert count_rows(app, Ticket, Ticket.kind == "rework") == 1
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.kind == "rework"))
        assert len(ticket.photos) == 1
        from foundation.photos import Photo

        assert db.session.get(Photo, ticket.photos[0].photo_sha256) is not None  # the photo followed


def test_a_draft_survives_a_reload_offline(live_server, phone_context):
    page = phone_context.new_page()
    log_in(page, live_server.url, "chenmei")
    wait_until_offline_ready(page)
    restroom = restroom_url(page)
    go_offline(phone_context, live_server)
    page.goto(live_server.url + restroom)
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    page.click("label[for='a-mirrors-fail']")
    page.click("#item-mirrors details.note summary")
    page.fill("#item-mirrors textarea[name=note-mirrors]", "镜面有水迹")
    wait_for_draft(page, "d.answers.mirrors?.note === '镜面有水迹'")  # saved as the person types
    page.reload()
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    assert page.is_checked("#a-mirrors-fail")
    assert page.input_value("#item-mirrors textarea[name=note-mirrors]") == "镜面有水迹"
    go_online(phone_context, live_server)


@pytest.mark.photos
def test_a_lost_push_response_creates_nothing_twice(app, live_server, browser, tmp_path):
    # Service workers off here: the test drops the response between the server and the page.
    from tests.e2e.conftest import PHONE

    context = browser.new_context(**PHONE, service_workers="block")
    page = context.new_page()
    lost = []

    def drop_first_response(route):
        response = route.fetch()  # the server receives and commits the batch …
        if not lost:
            lost.append(response.status)
            route.abort("connectionreset")  # … and the answer never reaches the phone
        else:
            route.fulfill(response=response)

    page.route("**/api/v1/sync/push", drop_first_response)
    log_in(page, live_server.url, "chenmei")
    page.goto(live_server.url + restroom_url(page))
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_bytes())
    fill_restroom_check(page, photo)
    wait_until(page, "() => document.querySelector('#outbox-list li') !== null")
    page.evaluate("fieldSync.syncNow()")  # the retry (the timer would do it a little later)
    page.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    assert lost == [200]
    assert count_rows(app, Inspection) == 1
    assert count_rows(app, Ticket, Ticket.kind == "rework") == 1
    assert count_rows(app, AppliedMutation) == 1
    context.close()


def test_logout_while_offline_leaves_nothing_readable_for_the_next_person(app, live_server, phone_context):
    count_sync_runs(phone_context)
    page = phone_context.new_page()
    log_in(page, live_server.url, "chenmei")
    wait_until_offline_ready(page)
    second_tab = phone_context.new_page()  # a second tab stays open through it all
    second_tab.goto(live_server.url + "/tickets")
    go_offline(phone_context, live_server)
    page.goto(live_server.url + "/today")
    assert "陈梅" in page.inner_text("header")  # from the cache, before logout
    page.click("footer form[data-logout] button")  # nothing unsent: no question asked
    page.wait_for_url("**/login")
    assert phone_storage(page) == {"people": [], "databases": [], "pages": []}
    page.goto(live_server.url + "/today")
    text = page.inner_text("body")
    assert "陈梅" not in text and "清洁标准" not in text
    screenshot(page, "offline-after-logout-zh-360x740")

    ended = second_tab.evaluate("window.syncRunsEnded")
    go_online(phone_context, live_server)
    wait_for_sync_run(second_tab, ended)  # the network is back: the other tab's run must refill nothing
    page.goto(live_server.url + "/today")  # the worker ends the server session first
    page.wait_for_url("**/login**")
    assert phone_storage(page) == {"people": [], "databases": [], "pages": []}
    assert "login" in second_tab.url or "陈梅" not in second_tab.inner_text("body")


@pytest.mark.photos
def test_a_new_service_worker_keeps_the_waiting_records_and_sends_them(app, live_server, phone_context, tmp_path):
    page = phone_context.new_page()
    log_in(page, live_server.url, "chenmei")
    wait_until_offline_ready(page)
    restroom = restroom_url(page)
    go_offline(phone_context, live_server)
    page.goto(live_server.url + restroom)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_bytes())
    fill_restroom_check(page, photo)
    assert outbox_statuses(page) == ["waiting"]

    # A new build is deployed while the record waits, and the restroom checklist gets a new
    # version, so her old worker fetches her pages again, over a network too slow to answer
    # them (held here); the push endpoint is still unreachable.
    page.route("**/api/v1/sync/push", lambda route: route.abort("internetdisconnected"))
    app.extensions["asset_build"] = "next-build"
    republish(app, int(restroom.split("/")[2].split("?")[0]))
    held = []
    phone_context.route("**/checklists/**", lambda route: held.append(route))
    go_online(phone_context, live_server)
    page.goto(live_server.url + "/today")
    page.wait_for_selector("#update-ready:not([hidden])", timeout=20000)
    screenshot(page, "update-ready-zh-360x740", full_page=False)
    wait_for(page, lambda: held, "the old worker fetching her pages again")
    # Her tap takes effect at once: the new worker takes over and the page reloads itself,
    # without waiting for the old worker's fetches (it waited for all 80, tap after tap).
    with page.expect_navigation(timeout=20_000):
        page.click("#update-ready button")
    phone_context.unroute("**/checklists/**")
    for route in held:
        with contextlib.suppress(PlaywrightError):  # the old worker gave up on it
            route.continue_()
    wait_until(
        page,
        "() => navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL.endsWith('/sw.js')",
    )
    page.wait_for_selector("#outbox-list li")
    assert outbox_statuses(page) == ["waiting"]
    assert page.evaluate("caches.keys()").count("shell-next-build") == 1

    page.unroute("**/api/v1/sync/push")
    page.evaluate("fieldSync.syncNow()")
    page.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    assert count_rows(app, Inspection) == 1


def test_an_engineer_moves_a_ticket_offline_and_it_follows_when_back_online(app, live_server, phone_context):
    page = phone_context.new_page()
    log_in(page, live_server.url, "lihua")  # the B2 leak is assigned to him
    wait_until_offline_ready(page)
    ticket_url = page.get_attribute("a.row:has-text('BY-20261126-0001')", "href")
    go_offline(phone_context, live_server)
    page.goto(live_server.url + ticket_url)
    page.click("form[data-outbox='ticket.transition'] button")
    page.wait_for_selector("#sync-status[data-waiting='1']")
    # A double tap on "add comment" queues it once (it was queued twice).
    comment = "form[data-outbox='ticket.comment']"
    page.fill(f"{comment} textarea", "阀门已关，待换管")
    page.dblclick(f"{comment} button")
    wait_until(page, f"document.querySelector(\"{comment} textarea\").value === ''")
    comments = page.evaluate("""async () => (await fieldStore.all("outbox")).filter((r) => r.type === "ticket.comment")
        .map((r) => r.payload.text)""")
    assert comments == ["阀门已关，待换管"]
    page.goto(live_server.url + "/today")
    assert outbox_statuses(page) == ["waiting", "waiting"]
    with app.app_context():
        assert db.session.scalar(sa.select(Ticket.state).where(Ticket.number == "BY-20261126-0001")) == "assigned"
    go_online(phone_context, live_server)
    wait_until(page, "document.querySelectorAll('#outbox-list li[data-status=sent]').length === 2")
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == "BY-20261126-0001"))
        assert ticket.state == "in_progress" and ticket.events[-1].source == "sync"
        assert [e.note for e in ticket.events if e.action == "comment"] == ["阀门已关，待换管"]


def test_her_own_outbox_opens_offline_and_calls_her_record_hers(app, live_server, phone_context, phone):
    """Tapping "1 条待发送" offline opened "此页面未保存在手机上", and the outbox, once kept, called
    her own record another colleague's."""
    base = live_server.url
    log_in(phone, base, "chenmei")
    wait_until_offline_ready(phone)
    restroom = restroom_url(phone)
    go_offline(phone_context, live_server)
    phone.goto(base + restroom)
    fill_restroom_check(phone, None, fail=None)
    phone.wait_for_selector("#sync-status[data-waiting='1']")
    phone.click("#sync-status [data-status-text]")
    phone.wait_for_url("**/outbox")
    phone.wait_for_selector("#outbox-list li[data-status=waiting]")
    phone.wait_for_selector("#sync-status[data-others='0']")
    assert phone.locator("[data-status-others]").is_hidden()
    assert "1 条待发送" in phone.inner_text("#sync-status")
    screenshot(phone, "outbox-offline-own-record-zh-360")


def test_a_check_sent_offline_reads_done_waiting_on_today_at_once(app, live_server, phone_context, phone):
    base = live_server.url
    log_in(phone, base, "chenmei")
    wait_until_offline_ready(phone)
    due = phone.locator("li[data-assignment]:has-text('清洁标准：卫生间')").first
    assignment = due.get_attribute("data-assignment")
    assert due.locator(".badge").inner_text() in ("待完成", "已逾期")
    href = due.locator("a").get_attribute("href")
    go_offline(phone_context, live_server)
    phone.goto(base + href)
    fill_restroom_check(phone, None, fail=None)
    badge = phone.locator(f"li[data-assignment='{assignment}'] .badge")
    wait_until(
        phone, "(id) => document.querySelector(`li[data-assignment='${id}'] [data-done-waiting]`) !== null", assignment
    )
    assert badge.inner_text() == "已完成，待发送"
    screenshot(phone, "today-done-waiting-offline-zh-360")


def republish(app, template_id: int) -> None:
    """A manager publishes the checklist again: its pages change, so phones fetch them again."""
    with app.app_context():
        template = db.session.get(ChecklistTemplate, template_id)
        definition = current_version(db.session, template).parsed()
        publish_template_version(db.session, template, definition, actor=None)
        db.session.commit()
