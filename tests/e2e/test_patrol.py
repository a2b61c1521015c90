"""A guard walks the night route offline by typing the printed codes, reports a hazard on the way,
and the supervisor sees the round on the timeline once the phone is back online."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from inspections.patrol import PatrolRoute, PatrolScan
from tests.e2e.conftest import log_in, log_out, screenshot, wait_until, wait_until_offline_ready
from tests.helpers import jpeg_bytes
from tickets.models import Ticket
from webapp.extensions import db


def _codes(app) -> list[str]:
    with app.app_context():
        route = db.session.scalar(sa.select(PatrolRoute))
        return [stop.location.qr_code for stop in route.checkpoints]


def _round_due_now(app) -> None:
    """Tonight's first round is due five minutes ago, whatever the time the test runs."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    with app.app_context():
        route = db.session.scalar(sa.select(PatrolRoute))
        route.schedule = {
            "start": f"{now - timedelta(minutes=5):%H:%M}",
            "end": f"{now + timedelta(hours=4):%H:%M}",
            "every_minutes": 120,
            "window_minutes": 15,
        }
        db.session.commit()


@pytest.mark.photos
def test_a_guard_walks_a_round_offline_and_the_supervisor_sees_it(app, live_server, phone_context, tmp_path):
    _round_due_now(app)
    page = phone_context.new_page()
    log_in(page, live_server.url, "zhangwei")
    wait_until_offline_ready(page)
    page.click("a.walk-link")
    page.wait_for_selector("[data-scan-form]")
    assert "下一个" in page.inner_text("li.next-stop")  # the first checkpoint is next
    walk_url = page.url
    screenshot(page, "patrol-walk-zh-360x740", full_page=False)

    live_server.stop()
    phone_context.set_offline(True)
    page.fill("#code", "WRONG-CODE")
    page.click("[data-scan-form] button")
    assert page.is_visible("[data-scan-error]")

    photo = tmp_path / "smoke.jpg"
    photo.write_bytes(jpeg_bytes((1200, 900), color="#555"))
    for n, code in enumerate(_codes(app)):
        page.goto(walk_url)
        page.fill("#code", code.lower().replace("-", ""))  # typed loosely: case and dash do not matter
        page.click("[data-scan-form] button")
        page.wait_for_selector("form[data-checklist][data-ready=true]")
        for item in page.locator("fieldset[data-item]").all():
            item.locator("label.opt-pass").click()
        if n == 2:  # water on the floor of the B2 ramp
            page.click("label[for='a-water-fail']")
            page.set_input_files("#item-water input[type=file]", str(photo))
            page.wait_for_selector("#item-water .thumbs img")
        page.click(".actionbar button[value=review]")
        page.click("#client-summary button[value=submit]")
        page.wait_for_url("**/walk")
    page.wait_for_selector("[data-checkpoint-state].ok")
    assert page.locator("[data-checkpoint-state].ok").count() == len(_codes(app))

    # An incident on the way: a broken lock on the roof door, with a photo.
    page.click("details.incident summary")
    page.select_option("#incident-where", index=6)
    page.fill("#incident-title", "屋顶门锁损坏")
    page.set_input_files("[data-incident-form] input[type=file]", str(photo))
    page.wait_for_selector("[data-incident-form] .thumbs img")
    page.click("[data-incident-form] button[type=submit]")
    wait_until(page, "() => document.querySelector('details.incident').open === false")

    live_server.start()
    phone_context.set_offline(False)
    page.goto(live_server.url + "/today")
    wait_until(page, "document.querySelectorAll('#outbox-list li[data-status=sent]').length === 8")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PatrolScan)) == 7
        hazard = db.session.scalar(
            sa.select(Ticket).where(Ticket.kind == "hazard", Ticket.title.contains("地面无积水"))
        )
        assert hazard is not None and len(hazard.photos) == 1
        # Routed at once (inspections/routing.py): a person of the department it went to has it.
        assert hazard.state == "assigned" and hazard.assignee.department_id == hazard.department_id
        incident = db.session.scalar(sa.select(Ticket).where(Ticket.title == "屋顶门锁损坏"))
        assert incident.kind == "hazard" and incident.priority == "high" and len(incident.photos) == 1
        assert incident.location.name == "屋顶出口"

    log_out(page)
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/patrol")
    first_round = page.locator(".round").first
    assert "已完成" in first_round.inner_text() and "✗" not in first_round.inner_text()
    screenshot(page, "patrol-board-zh-360x740")
    page.click("text=张伟")
    week = page.inner_text("main")
    assert "张伟" in week and "7 个巡更点中有 7 个由该保安扫描" in week


def _y4m_with_qr(path, text: str) -> None:
    """A short video of a printed QR label, for Chromium's fake camera."""
    import qrcode
    from PIL import Image

    width, height = 640, 480
    frame = Image.new("RGB", (width, height), "white")
    code = qrcode.make(text, box_size=10, border=4).convert("RGB").resize((360, 360))
    frame.paste(code, ((width - 360) // 2, (height - 360) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    planes = (
        y.tobytes() + cb.resize((width // 2, height // 2)).tobytes() + cr.resize((width // 2, height // 2)).tobytes()
    )
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(20):
            out.write(b"FRAME\n" + planes)


def test_a_checkpoint_is_scanned_with_the_camera_offline(app, live_server, playwright, tmp_path):
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE

    _round_due_now(app)
    code = _codes(app)[0]
    video = tmp_path / "label.y4m"
    _y4m_with_qr(video, code)
    # A browser of its own: the fake camera is a launch option.
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS
        + [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(**PHONE)
        context.grant_permissions(["camera"], origin=live_server.url)
        page = context.new_page()
        log_in(page, live_server.url, "zhangwei")
        wait_until_offline_ready(page)
        # This Chromium has no BarcodeDetector, so the phone keeps the QR decoder for offline use.
        wait_until(
            page,
            """async () => {
            for (const name of await caches.keys()) {
                const kept = await (await caches.open(name)).keys();
                if (kept.some((request) => request.url.includes("jsQR"))) return true;
            }
            return false;
        }""",
        )
        page.click("a.walk-link")
        page.wait_for_selector("[data-scan-form]")
        live_server.stop()  # the round is walked offline: the decoder comes from the phone's cache
        context.set_offline(True)
        page.reload()
        page.click("[data-camera]")
        page.wait_for_selector("form[data-checklist]", timeout=20000)  # the code was read: the checklist opened
        assert f"code={code}" in page.evaluate("location.hash")
    finally:
        browser.close()
    live_server.start()
