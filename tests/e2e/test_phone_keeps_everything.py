"""The phone loses nothing: a second check of a place, a shared phone, logout with unsent work,
one push per send, an app restart, evidence first, position. One test per defect of issue 15,
each runnable alone."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from foundation.org import Device, User
from foundation.photos import PhotoHolder
from inspections.records import Inspection
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
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
    wait_for_draft,
    wait_for_sync_run,
    wait_until,
    wait_until_offline_ready,
)
from tests.helpers import jpeg_bytes
from webapp.extensions import db


def _js_time(moment: datetime) -> str:
    """An instant as the phone's scripts write it (`Date.toISOString`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def _photo(tmp_path, color="#a86"):
    path = tmp_path / f"{color.strip('#')}.jpg"
    path.write_bytes(jpeg_bytes((1600, 1200), color=color))
    return path


def _check_sent_offline(page, live_server, phone_context, tmp_path, username="chenmei") -> None:
    """A cleaner logs in, the phone gets ready for offline, the network goes, she sends a check
    with a photo: it waits on the phone."""
    log_in(page, live_server.url, username)
    wait_until_offline_ready(page)
    # Her first sync gave the phone her device token: others' records go out with nothing else.
    wait_until(page, "async () => Boolean(await fieldStore.meta('token'))")
    restroom = restroom_url(page)
    go_offline(phone_context, live_server)
    page.goto(live_server.url + restroom)
    fill_restroom_check(page, _photo(tmp_path))
    assert outbox_statuses(page) == ["waiting"]


def test_a_second_check_of_the_same_place_is_not_swallowed_while_today_is_slow(app, live_server, gate, phone):
    log_in(phone, live_server.url, "chenmei")
    restroom = restroom_url(phone)
    gate.slow["/today"] = 1.5  # the page stays open after "send" while Today loads
    for _ in range(2):
        phone.goto(live_server.url + restroom)
        fill_restroom_check(phone, None, fail=None)
    wait_until(
        phone, "() => [...document.querySelectorAll('#outbox-list li')].every((r) => r.dataset.status === 'sent')"
    )
    assert outbox_statuses(phone) == ["sent", "sent"]
    assert count_rows(app, Inspection, Inspection.inspector_id == _user_id(app, "chenmei")) == 2
    assert len(gate.pushed) == len(set(gate.pushed)) == 2  # and each send was pushed once


@pytest.mark.photos
def test_a_shared_phone_sends_the_last_persons_work_and_shows_the_next_only_a_count(
    app, live_server, gate, phone_context, tmp_path
):
    page = phone_context.new_page()
    _check_sent_offline(page, live_server, phone_context, tmp_path)

    # The app restarts and the browser has dropped her session; a colleague picks up the phone.
    phone_context.clear_cookies()
    gate.refused |= {"/api/v1/sync/push", "/api/v1/photos/"}  # her records cannot go yet
    go_online(phone_context, live_server)
    log_in(page, live_server.url, "huangli")
    page.wait_for_selector("#sync-status[data-others='1']")
    assert "1 条另一位同事的记录仍在等待发送" in page.inner_text("#sync-status")
    assert page.locator("#outbox-list li").count() == 0  # never her records themselves
    screenshot(page, "shared-phone-others-waiting-zh-360x740", full_page=False)

    gate.refused.clear()
    page.evaluate("fieldSync.syncNow()")
    page.wait_for_selector("#sync-status[data-others='0']", state="attached", timeout=20000)
    chenmei = _user_id(app, "chenmei")
    with app.app_context():
        inspection = db.session.scalar(sa.select(Inspection).where(Inspection.inspector_id == chenmei))
        [answer] = [a for a in inspection.answers if a.photos]
        sha = answer.photos[0].photo_sha256
        assert db.session.get(PhotoHolder, (sha, chenmei)) is not None  # her evidence, sent as her
    assert set(gate.pushed) and all(m for m in gate.pushed)

    # Back on the phone later, she finds her record sent, with its photo receipt.
    page.tap("footer form[data-logout] button")
    page.wait_for_url("**/login")
    log_in(page, live_server.url, "chenmei")
    page.wait_for_selector("#outbox-list li[data-status=sent]")
    assert "照片 1/1 已上传" in page.inner_text("#outbox-list")


def test_logout_with_unsent_records_keeps_them_sending_and_then_gives_the_token_back(
    app, live_server, phone_context, tmp_path
):
    page = phone_context.new_page()
    _check_sent_offline(page, live_server, phone_context, tmp_path)
    page.click("footer form[data-logout] button")
    page.wait_for_selector("dialog#logout-unsent[open]")
    assert "1 条记录尚未发送" in page.inner_text("dialog#logout-unsent")
    screenshot(page, "logout-unsent-zh-360x740", full_page=False)
    page.click("dialog#logout-unsent button[value=keep]")
    page.wait_for_url("**/login")
    chenmei = _user_id(app, "chenmei")
    assert phone_storage(page)["people"] == [str(chenmei)]  # kept, signed out

    go_online(phone_context, live_server)
    page.goto(live_server.url + "/login")  # the login page keeps her records going
    wait_until(page, "async () => (await fieldStore.people()).length === 0", timeout_s=30)
    assert count_rows(app, Inspection, Inspection.inspector_id == chenmei) == 1
    with app.app_context():
        devices = db.session.scalars(sa.select(Device).where(Device.user_id == chenmei)).all()
        assert devices and all(d.revoked_at is not None for d in devices)  # the token went back
    assert page.evaluate("fetch('/today', {redirect: 'manual'}).then((r) => r.type)") == "opaqueredirect"


def test_logout_that_discards_leaves_nothing_and_sends_nothing(app, live_server, phone_context, tmp_path):
    count_sync_runs(phone_context)
    page = phone_context.new_page()
    _check_sent_offline(page, live_server, phone_context, tmp_path)
    page.on("dialog", lambda dialog: dialog.accept())  # "cannot be recovered": yes
    page.click("footer form[data-logout] button")
    page.click("dialog#logout-unsent button[value=discard]")
    page.wait_for_url("**/login")
    assert phone_storage(page) == {"people": [], "databases": [], "pages": []}
    go_online(phone_context, live_server)
    page.goto(live_server.url + "/login")
    wait_for_sync_run(page)  # the login page sends what people before left unsent: nothing here
    assert count_rows(app, Inspection) == 0


def test_an_app_restart_keeps_the_person_signed_in(app, live_server, playwright, tmp_path):
    profile = tmp_path / "profile"

    def launch():
        return playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **PHONE
        )

    phone = launch()
    page = phone.new_page()
    log_in(page, live_server.url, "zhangwei")
    phone.close()  # the app is swiped away; the phone's browser stops

    phone = launch()
    page = phone.new_page()
    page.goto(live_server.url + "/today")
    assert page.url.endswith("/today") and "张伟" in page.inner_text("header")
    phone.close()


def test_the_record_carries_where_it_was_done_or_that_the_position_was_refused(app, live_server, browser):
    where = {"latitude": 22.54321, "longitude": 114.05432, "accuracy": 12}
    for grant, expected in [(["geolocation"], "22.54321, 114.05432"), ([], "未共享手机位置")]:
        context = browser.new_context(**PHONE, geolocation=where, permissions=grant)
        page = context.new_page()
        log_in(page, live_server.url, "chenmei")
        page.goto(live_server.url + restroom_url(page))
        wait_for_draft(page, "d.geo || d.geo_status")  # the position is asked for as the checklist opens
        fill_restroom_check(page, None, fail=None)
        page.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
        with app.app_context():
            inspection = db.session.scalars(sa.select(Inspection).order_by(Inspection.received_at.desc())).first()
            inspection_id = inspection.id
        log_in_as_manager = browser.new_context(**PHONE)
        desk = log_in_as_manager.new_page()
        log_in(desk, live_server.url, "wangjl")
        desk.goto(f"{live_server.url}/inspections/{inspection_id}")
        assert expected in desk.inner_text("[data-geo]")
        screenshot(desk, f"record-position-{'shared' if grant else 'refused'}-zh-360x740", full_page=False)
        log_in_as_manager.close()
        context.close()


def test_a_phone_updated_from_the_one_database_build_keeps_and_sends_its_waiting_record(app, live_server, phone):
    """Phones in the field hold the earlier build's single database: its person adopts it."""
    log_in(phone, live_server.url, "chenmei")
    chenmei = str(_user_id(app, "chenmei"))
    restroom = restroom_url(phone)
    phone.goto(live_server.url + restroom)
    phone.wait_for_selector("form[data-checklist][data-ready=true]")
    payload = phone.evaluate("JSON.parse(document.getElementById('checklist-data').textContent)")
    # Made an hour ago: the outbox hides sent records after a while, so a fixed date would
    # stop this test passing some days after it was written.
    finished = datetime.now(UTC) - timedelta(hours=1)
    started = finished - timedelta(minutes=5)
    record = {
        "id": "7d1e7a3c-1111-4c4c-9a9a-000000000001",
        "type": "inspection.submit",
        "status": "waiting",
        "photos": [],
        "title": payload["title"],
        "place": payload["place"],
        "created_at": _js_time(finished),
        "error": None,
        "payload": {
            "inspection_id": "7d1e7a3c-2222-4c4c-9a9a-000000000002",
            "template_id": payload["template_id"],
            "template_version": payload["template_version"],
            "site_id": payload["site_id"],
            "location_id": payload["location_id"],
            "started_at": _js_time(started),
            "finished_at": _js_time(finished),
            "answers": [
                {"item_id": item["id"], "value": "pass", "note": "", "photos": []}
                for section in payload["sections"]
                for item in section["items"]
            ],
        },
    }
    # Everything of the new build gone, the old build's database in its place.
    phone.evaluate(
        """async ([userId, record]) => {
        for (const { name } of await indexedDB.databases()) {
            await new Promise((done) => { const r = indexedDB.deleteDatabase(name); r.onsuccess = r.onblocked = done; });
        }
        await new Promise((resolve) => {
            const request = indexedDB.open("fieldcheck", 1);
            request.onupgradeneeded = () => {
                for (const name of ["outbox", "photos", "drafts", "entities", "meta"]) {
                    request.result.createObjectStore(name, { keyPath: name === "photos" ? "sha256" : name === "outbox" ? "id" : "key" });
                }
            };
            request.onsuccess = () => {
                const tx = request.result.transaction(["outbox", "meta"], "readwrite");
                tx.objectStore("outbox").put(record);
                tx.objectStore("meta").put({ key: "user_id", value: userId });
                tx.oncomplete = () => { request.result.close(); resolve(); };
            };
        });
    }""",
        [chenmei, record],
    )
    phone.goto(live_server.url + "/today")
    phone.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    assert count_rows(app, Inspection, Inspection.inspector_id == int(chenmei)) == 1
    assert "fieldcheck" not in [d["name"] for d in phone.evaluate("indexedDB.databases()")]
