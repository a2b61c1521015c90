"""A failure found at a check reaches the phone of the person its ticket went to: the server sends
a real Web Push (VAPID, encrypted) to the push service stand-in, which decrypts it; what it holds
is handed to the phone's service worker in Chromium as its push service would hand it
(DevTools: ServiceWorker.deliverPushMessage), and the phone shows a notification for that
ticket, whose page opens."""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import time as clock
from pathlib import Path

import pytest
import sqlalchemy as sa

from foundation.base import utcnow
from foundation.org import User
from foundation.web_push import PushPreference, make_keys
from sync.tokens import issue_device_token
from tests.e2e.conftest import _context, go_offline, log_in, screenshot, wait_until, wait_until_offline_ready
from tests.push_service import PushService
from tests.test_web_push import a_failure
from webapp.extensions import db
from webapp.jobs import run_job


@pytest.fixture
def push_service():
    service = PushService().start()
    yield service
    service.stop()


def test_the_assignees_phone_is_told_of_the_failure_and_opens_its_ticket(app, live_server, browser, push_service):
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOWED_NETWORKS=(ipaddress.ip_network("127.0.0.0/8"),))
    make_keys(Path(app.config["VAPID_KEY_FILE"]))
    with app.app_context():
        earlier = a_failure(db.session)  # 王经理's spot check: routed to the cleaner on duty or the lead
        assignee = earlier.assignee.username
        person = db.session.scalar(sa.select(User).where(User.username == assignee))
        device, token = issue_device_token(db.session, person, name="phone", user_agent="test", now=utcnow())
        # Never quiet (the same start and end): the test runs at whatever hour the clock says.
        db.session.merge(PushPreference(user_id=person.id, muted=[], quiet_start=clock(0), quiet_end=clock(0)))
        db.session.commit()
        run_job("push")  # the earlier ticket's push goes before the phone subscribes
    phone_push = push_service.new_phone()
    subscribed = app.test_client().put(
        "/api/v1/push/subscription", json=phone_push.subscription(), headers={"Authorization": f"Bearer {token}"}
    )
    assert subscribed.status_code == 204

    context = _context(browser, permissions=["notifications"])
    try:
        page = context.new_page()
        log_in(page, live_server.url, assignee)
        wait_until_offline_ready(page)
        assert page.locator("#push-offer").is_hidden()  # allowed already: nothing to ask
        # A second failure after Today kept its pages: only the push can keep this ticket's page.
        with app.app_context():
            ticket = a_failure(db.session, "drain")
            number, title = ticket.number, ticket.title
            assert ticket.assignee.username == assignee
            assert run_job("push") == 1
        [received] = push_service.wait_for(1)
        devtools = context.new_cdp_session(page)
        registrations = []
        devtools.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        devtools.send("ServiceWorker.enable")
        deadline = time.monotonic() + 10
        while not [r for r in registrations if not r["isDeleted"]]:  # they arrive as events
            assert time.monotonic() < deadline, "DevTools named no service worker registration"
            page.wait_for_timeout(50)
        [registration] = [r for r in registrations if not r["isDeleted"]][:1]
        devtools.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": registration["registrationId"],
                "data": json.dumps(received.message),
            },
        )
        wait_until(page, "navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((n) => n.length > 0)")
        [shown] = page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
            .map((n) => ({ title: n.title, body: n.body, url: n.data.url }))""")
        assert title in shown["title"] and number in shown["body"] and shown["url"] == f"/tickets/{number}"
        # Tapped later, out of reach of the network: the page was kept when the push came.
        wait_until(
            page,
            "(url) => caches.open(`pages-${document.body.dataset.userId}`).then((c) => c.match(url)).then(Boolean)",
            live_server.url + shown["url"],
        )
        go_offline(context, live_server)
        page.goto(live_server.url + shown["url"])
        main = page.locator("main").inner_text()
        assert number in main and title in main
        screenshot(page, "push-opened-ticket-offline")
        assert context.errors == []
    finally:
        context.close()


def test_a_phone_offers_notifications_once_and_not_now_is_kept(live_server, phone):
    log_in(phone, live_server.url, "chenmei")
    offer = phone.locator("#push-offer")
    offer.wait_for()
    screenshot(phone, "push-offer")
    offer.locator("[data-push-later]").click()
    assert offer.is_hidden()
    phone.reload()
    phone.wait_for_load_state()
    assert phone.locator("#push-offer").is_hidden()
    phone.click("a[href='/notifications']")
    phone.wait_for_url("**/notifications")
    phone.uncheck("input[name=kinds][value=rounds]")
    phone.fill("#quiet_start", "21:30")
    phone.fill("#quiet_end", "06:00")
    screenshot(phone, "push-notification-settings-zh-360")
    phone.click("main button.primary")
    phone.wait_for_url("**/notifications")
    assert not phone.is_checked("input[name=kinds][value=rounds]") and phone.input_value("#quiet_end") == "06:00"
