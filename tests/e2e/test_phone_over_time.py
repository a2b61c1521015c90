"""The phone after months of use: a sign-in taken away while work waits is said plainly and
ends well, and what was sent leaves the phone after the retention window (never what waits).
Restarts are real: a persistent profile closed and opened. A full disk is a small quota set
through DevTools (Storage.overrideQuotaForOrigin) and filled; Chromium counts what IndexedDB
stores after compressing it, so what fills it, and the photo that meets it, is noise."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from foundation.base import utcnow
from foundation.org import User
from foundation.people import reset_password
from inspections.records import Inspection
from sync.tokens import device_for_token, revoke_device
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    count_rows,
    fill_restroom_check,
    go_offline,
    go_online,
    log_in,
    outbox_statuses,
    restroom_url,
    screenshot,
    wait_for_draft,
    wait_until,
    wait_until_offline_ready,
)
from tests.helpers import jpeg_bytes, noise_jpeg_bytes
from webapp.extensions import db

LAPSED_OWN = "你的登录已失效：1 条记录在等待，请重新登录后发送"
LAPSED_NAMED = "陈梅的登录已失效：1 条记录在等待，请重新登录后发送"


def _launch(playwright, profile):
    """The phone's browser, started on its own profile: closing it is a real restart."""
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **PHONE
    )
    context.errors = []
    context.on("weberror", lambda error: context.errors.append(str(error.error)))
    return context


def _user(app, username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _take_sign_in_away(app, how: str, token: str) -> str:
    """What her manager does while her record waits; the password she signs in with next."""
    with app.app_context():
        if how == "password reset":
            reset_password(db.session, _user(app, "chenmei"), "newpass5678", actor=_user(app, "wangfang"))
            password = "newpass5678"
        else:
            device = device_for_token(db.session, token)
            revoke_device(db.session, device, now=utcnow(), by=_user(app, "wangfang"))
            password = "demo1234"
        db.session.commit()
    return password


@pytest.mark.photos
@pytest.mark.parametrize("how", ["password reset", "device revoked"])
def test_a_sign_in_taken_away_while_a_record_waits_is_said_until_she_signs_in_and_it_goes(
    app, live_server, gate, playwright, tmp_path, how
):
    profile = tmp_path / "profile"
    phone = _launch(playwright, profile)
    page = phone.new_page()
    log_in(page, live_server.url, "chenmei")
    wait_until_offline_ready(page)
    wait_until(page, "async () => Boolean(await fieldStore.meta('token'))")
    # Her first sync downloaded none of her sites' history: the phone keeps no copy of it.
    pulls = [line for line in gate.asked if line.startswith("GET /api/v1/sync/pull")]
    assert pulls[0] == "GET /api/v1/sync/pull?from=now"
    token = page.evaluate("fieldStore.meta('token')")

    restroom = restroom_url(page)
    go_offline(phone, live_server)
    page.goto(live_server.url + restroom)
    photo = tmp_path / "odour.jpg"
    photo.write_bytes(jpeg_bytes((1600, 1200), color="#a86"))
    fill_restroom_check(page, photo)
    assert outbox_statuses(page) == ["waiting"]

    password = _take_sign_in_away(app, how, token)
    go_online(phone, live_server)
    page.evaluate("fieldSync.syncNow()")
    page.wait_for_selector("#signin-lapsed:not([hidden])")
    assert LAPSED_OWN in page.inner_text("#signin-lapsed")
    assert page.is_visible("#signin-lapsed [data-lapsed-login]")
    screenshot(page, "sign-in-lapsed-today-zh-360x740", full_page=False)

    # The phone stops trying for her: another run asks the server nothing.
    asked = len(gate.asked)
    page.evaluate("fieldSync.syncNow()")
    assert [line for line in gate.asked[asked:] if "/api/" in line or "device-token" in line] == []
    assert gate.pushed == []

    # The open page reloaded: her session is gone, the login page says what waits, by name.
    page.reload()
    page.wait_for_url("**/login**")
    page.wait_for_selector("#signin-lapsed:not([hidden])")
    assert LAPSED_NAMED in page.inner_text("#signin-lapsed")
    errors = phone.errors
    phone.close()  # the browser restarts: the message is kept on the phone, not in the page

    phone = _launch(playwright, profile)
    page = phone.new_page()
    page.goto(live_server.url + "/today")
    page.wait_for_url("**/login**")
    page.wait_for_selector("#signin-lapsed:not([hidden])")
    assert LAPSED_NAMED in page.inner_text("#signin-lapsed")
    screenshot(page, "sign-in-lapsed-login-zh-360x740", full_page=False)

    log_in(page, live_server.url, "chenmei", password)
    page.wait_for_selector("#outbox-list li[data-status=sent]", timeout=20000)
    page.wait_for_selector("#signin-lapsed", state="hidden")
    chenmei = page.evaluate("Number(document.body.dataset.userId)")
    assert count_rows(app, Inspection, Inspection.inspector_id == chenmei) == 1
    with app.app_context():
        inspection = db.session.scalar(sa.select(Inspection).where(Inspection.inspector_id == chenmei))
        assert [p.photo_sha256 for a in inspection.answers for p in a.photos] != []
    assert len(gate.pushed) == len(set(gate.pushed)) == 1
    errors += phone.errors
    phone.close()
    assert errors == [], f"the pages threw: {errors}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.photos
def test_retention_deletes_old_sent_records_and_their_photos_but_never_what_waits(app, live_server, phone_context):
    page = phone_context.new_page()
    log_in(page, live_server.url, "chenmei")
    wait_until(page, "async () => Boolean(await fieldStore.meta('token'))")
    now = datetime.now(UTC)
    days_ago = lambda n: _iso(now - timedelta(days=n))  # noqa: E731

    def record(key, status, age_days, photos=()):
        return {
            "id": key, "type": "inspection.submit", "status": status, "payload": {}, "photos": list(photos),
            "title": key, "place": "3F", "created_at": days_ago(age_days), "error": None,
            **({"sent_at": days_ago(age_days)} if status == "sent" else {}),
        }  # fmt: skip

    old_sent = [record(f"old-{n}", "sent", 30 + n, [f"{n:064x}"]) for n in range(3)]
    seeded = {
        "outbox": [
            *old_sent,
            *(record(f"recent-{n:02}", "sent", 1 + n / 10) for n in range(35)),
            record("waiting", "waiting", 40, ["a" * 64]),
        ],
        "photos": [
            *({"sha256": f"{n:064x}", "type": "image/jpeg", "uploaded": True} for n in range(3)),
            {"sha256": "a" * 64, "type": "image/jpeg", "uploaded": False, "kept_at": days_ago(40)},  # waits
            {"sha256": "b" * 64, "type": "image/jpeg", "uploaded": False, "kept_at": days_ago(40)},  # a draft's
            {"sha256": "c" * 64, "type": "image/jpeg", "uploaded": False, "kept_at": days_ago(1)},  # signed again
            {"sha256": "d" * 64, "type": "image/jpeg", "uploaded": False, "kept_at": _iso(now)},  # being kept now
        ],
        "drafts": [{"key": "old-draft", "answers": {"x": {"value": "fail", "photos": ["b" * 64]}}}],
        "sent": [{"inspection_id": "old", "outbox_id": "old-0", "at": days_ago(30)}],
        "meta": [{"key": "pruned_at", "value": days_ago(30)}],  # the phone last tidied up (once an hour) then
    }
    page.evaluate(
        """async (seeded) => {
        for (const photo of seeded.photos) photo.data = new Uint8Array(1000).buffer;
        for (const [store, rows] of Object.entries(seeded)) await fieldStore.putMany(store, rows);
    }""",
        seeded,
    )
    go_offline(phone_context, live_server)  # offline too, the phone keeps only what it needs
    page.evaluate("fieldSync.syncNow()")
    kept = page.evaluate("""async () => ({
        outbox: (await fieldStore.all("outbox")).map((r) => r.id).sort(),
        photos: (await fieldStore.all("photos")).map((p) => p.sha256[0]).sort(),
        drafts: (await fieldStore.all("drafts")).map((d) => d.key),
        sent: (await fieldStore.all("sent")).map((s) => s.inspection_id),
    })""")
    # Sent a month ago: gone with their photos. Waiting and drafted 40 days ago: kept with theirs.
    # A photo nothing names: gone after an hour, kept while it may still be being saved.
    assert kept["outbox"] == [*(f"recent-{n:02}" for n in range(35)), "waiting"]
    assert kept["photos"] == ["a", "b", "d"]
    assert kept["drafts"] == ["old-draft"] and kept["sent"] == []

    go_online(phone_context, live_server)
    page.goto(live_server.url + "/outbox")
    page.wait_for_selector("#outbox-held:not([hidden])")
    held = page.inner_text("#outbox-held")
    assert "本周已发送 35 条" in held and "本机剩余空间" in held
    # A screenful, newest first; the rest when asked for.
    sent_rows = page.locator("#outbox-list li[data-status=sent]")
    assert sent_rows.count() == 15 and "recent-00" in sent_rows.first.inner_text()
    page.click("#outbox-more")
    wait_until(page, "document.querySelectorAll('#outbox-list li[data-status=sent]').length === 35")
    assert page.locator("#outbox-more").is_hidden()
    screenshot(page, "outbox-held-zh-360x740")


# Another database of the origin takes the room left, to within 256 KB (the size of its writes).
FILL = """async () => {
  const db = await new Promise((resolve, reject) => {
    const opening = indexedDB.open("filler", 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore("chunks");
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  for (let n = 0; n < 200; n++) {
    const chunk = new Uint8Array(256 * 1024);
    for (let at = 0; at < chunk.length; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536));
    const error = await new Promise((resolve) => {
      const tx = db.transaction("chunks", "readwrite");
      tx.objectStore("chunks").put(chunk, n);
      tx.oncomplete = () => resolve(null);
      tx.onabort = () => resolve(tx.error?.name || "aborted");
    });
    if (error) { db.close(); return error; }
  }
  db.close();
  return "never full";
}"""


def test_a_full_phone_says_so_keeps_the_draft_and_sends_nothing_half_saved(app, live_server, playwright, tmp_path):
    phone = _launch(playwright, tmp_path / "profile")
    page = phone.new_page()
    # A phone with 8 MB for this app (DevTools; Chromium takes an origin's quota when its
    # IndexedDB is first opened, so it is set before the app opens its own).
    devtools = phone.new_cdp_session(page)
    devtools.send("Storage.overrideQuotaForOrigin", {"origin": live_server.url, "quotaSize": 8 * 2**20})
    log_in(page, live_server.url, "chenmei")
    wait_until_offline_ready(page)
    page.goto(live_server.url + restroom_url(page))
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    for item in page.locator("fieldset[data-item]").all():
        item.locator("label.opt-pass").click()
    page.click("label[for='a-odour-fail']")
    wait_for_draft(page, "d.answers.odour?.value === 'fail'")

    # The phone fills up (other apps' data, here another database): room for small writes, none for a photo.
    assert page.evaluate(FILL) == "QuotaExceededError"
    photo = tmp_path / "odour.jpg"
    photo.write_bytes(noise_jpeg_bytes())  # a photo that stays large however it is stored
    page.set_input_files("#item-odour input[type=file]", str(photo))
    page.wait_for_selector("#storage-full:not([hidden])")
    assert "手机空间已满" in page.inner_text("#item-odour")  # said at the photo, and on the page
    screenshot(page, "phone-full-zh-360x740", full_page=False)
    # Nothing half-saved: no photo named, the draft as it was; the check cannot be sent without one.
    draft = page.evaluate("fieldStore.all('drafts').then((d) => d[0].answers.odour)")
    assert draft["value"] == "fail" and draft["photos"] == []
    assert page.locator("#item-odour .thumbs img").count() == 0
    assert page.evaluate("fieldStore.all('outbox')") == []

    # Room again: the same photo is kept and the check goes, once, with it.
    page.evaluate("new Promise((done) => { indexedDB.deleteDatabase('filler').onsuccess = done; })")
    page.set_input_files("#item-odour input[type=file]", str(photo))
    page.wait_for_selector("#item-odour .thumbs img")
    inspection_id = page.evaluate("fieldStore.all('drafts').then((d) => d[0].inspection_id)")
    page.click(".actionbar button[value=review]")
    page.wait_for_selector("#client-summary:not([hidden])")
    page.click("#client-summary button[value=submit]")
    page.wait_for_url("**/today")
    wait_until(page, "fieldStore.all('outbox').then((o) => o.length === 1 && o[0].status === 'sent')")
    with app.app_context():
        check = db.session.get(Inspection, uuid.UUID(inspection_id))
        [odour] = [a for a in check.answers if a.item_id == "odour"]
        assert odour.value == "fail" and len(odour.photos) == 1
    assert phone.errors == []
    phone.close()
