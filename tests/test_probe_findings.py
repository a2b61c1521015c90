"""Regressions for what a black-box probe found (issue 14): photos read across sites by their
hash, NUL bytes and invisible characters, unchecked photo references, loose dates, PDFs that
run off the page. Each on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid

import pypdfium2
import pytest
import sqlalchemy as sa
from reportlab.lib.pagesizes import A4

from foundation.org import Location, LocationKind, Site, User
from inspections.fitout import FitoutProject
from inspections.patrol import PatrolRoute
from tests.conftest import csrf_token, login, post_form
from tests.helpers import jpeg_bytes, sha
from tests.sync_client import auth, get_token, mutation, push, put_photo
from tickets.models import Ticket
from webapp.extensions import db

NUL = "\x00"
RLO = "\u202e"


def _site_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Site.id).where(Site.code == code))


def _ticket_create(site_id: int, title: str = "走廊灯不亮", photos=()) -> dict:
    return mutation(
        "ticket.create",
        {"ticket_id": str(uuid.uuid4()), "kind": "repair", "title": title, "site_id": site_id, "photos": list(photos)},
    )


# --- photos: knowing a hash grants nothing ------------------------------------------------------


@pytest.mark.photos
def test_a_hash_of_another_sites_photo_grants_nothing_until_the_bytes_are_sent(app, client, demo):
    photo = jpeg_bytes(color="blue")
    by_guard = get_token(client, "zhangwei")
    assert put_photo(client, by_guard, photo).status_code == 201
    xh_guard = get_token(client, "sunqiang")
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(by_guard)).status_code == 200
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(xh_guard)).status_code == 404

    result = push(client, xh_guard, [_ticket_create(_site_id(app, "XH"), photos=[sha(photo)])]).get_json()
    [outcome] = result["results"]
    assert outcome["status"] == "applied" and outcome["missing_photos"] == [sha(photo)]
    number = outcome["entity"]["number"]
    xh_manager = app.test_client()
    login(xh_manager, "hemin")
    for path in (f"/photos/{sha(photo)}", f"/photos/{sha(photo)}/thumb", f"/photos/{sha(photo)}/original"):
        assert xh_manager.get(path).status_code == 404, path
    pdf = xh_manager.get(f"/tickets/{number}.pdf")
    document = pypdfium2.PdfDocument(pdf.data)
    assert not [o for page in document for o in page.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    document.close()

    # Sending the bytes proves possession: from then on the photo is theirs to cite and show.
    assert put_photo(client, xh_guard, photo).status_code == 200
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(xh_guard)).status_code == 200
    assert xh_manager.get(f"/photos/{sha(photo)}").status_code == 200


@pytest.mark.photos
def test_the_web_checklist_cannot_cite_another_sites_photo(app, client, demo):
    photo = jpeg_bytes(color="green")
    assert put_photo(client, get_token(client, "chenmei"), photo).status_code == 201
    login(client, "zhoufang")  # XH's cleaner
    with app.app_context():
        template_id = _restroom_id()
        restroom = db.session.scalar(
            sa.select(Location.id).join(Site).where(Site.code == "XH", Location.area_type == "restroom")
        )
    url = f"/checklists/{template_id}?location={restroom}"
    page = client.get(url).get_data(as_text=True)
    version = int(page.split('name="template_version" value="')[1].split('"')[0])
    inspection_id = page.split('name="inspection_id" value="')[1].split('"')[0]
    # Every item answered (so only the photo can be the problem), the odour failed with the photo.
    answers = {f"answer-{item}": "pass" for item in re.findall(r'name="answer-([a-z0-9_-]+)" value="pass"', page)}
    response = post_form(
        client,
        url,
        {
            "template_version": version,
            "inspection_id": inspection_id,
            "started_at": "2026-11-26T02:00:00+00:00",
            "action": "submit",
            **answers,
            "answer-odour": "fail",
            "photos-odour": sha(photo),
        },
        token_from=url,
    )
    # The record is taken (nothing a person entered is lost), the photo is not: a hash names a
    # photo, it does not hand it over. The record counts it as still to come from her phone.
    assert response.status_code == 303
    record = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "data-photos-missing" in record and sha(photo) not in record
    assert client.get(f"/photos/{sha(photo)}").status_code == 404


def _restroom_id() -> int:
    from inspections.checklists import ChecklistTemplate

    return db.session.scalar(sa.select(ChecklistTemplate.id).where(ChecklistTemplate.title == "清洁标准：卫生间"))


def test_a_photo_reference_is_a_sha256_or_nothing_is_stored(app, client, demo):
    login(client, "liuxia")
    with app.app_context():
        unit = db.session.scalar(
            sa.select(Location.id).join(Site).where(Site.code == "BY", Location.kind == LocationKind.UNIT)
        )
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    response = post_form(
        client,
        "/tickets/new",
        {
            "kind": "repair",
            "location_id": unit,
            "contact_name": "张先生",
            "contact_phone": "13800000000",
            "title": "空调不制冷",
            "priority": "normal",
            "photo_shas": "../../etc/passwd",
        },
        token_from="/tickets/new",
    )
    assert response.status_code == 422 and "attach them again" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == before


# --- text: control characters, invisible characters --------------------------------------------


def test_nul_bytes_are_refused_by_name_at_every_edge_and_change_nothing(app, client, demo):
    token = get_token(client, "zhangwei")
    by = _site_id(app, "BY")
    results = push(client, token, [_ticket_create(by, f"灯{NUL}坏"), _ticket_create(by, "灯坏")]).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "applied"]  # one bad note does not block the queue
    assert results[0]["error"]["details"][0]["loc"] == ["title"]
    for body in (
        {"username": f"zhang{NUL}", "password": "x", "device_name": "手机"},
        {"username": "zhangwei", "password": "demo1234", "device_name": f"手{NUL}机"},
    ):
        refused = client.post("/api/v1/auth/token", json=body)
        assert refused.status_code == 422 and refused.get_json()["error"]["code"]

    login(client, "wangjl")
    with app.app_context():
        unit = db.session.scalar(
            sa.select(Location.id).join(Site).where(Site.code == "BY", Location.kind == LocationKind.UNIT)
        )
        people = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    intake = post_form(
        client,
        "/tickets/new",
        {
            "kind": "repair",
            "location_id": unit,
            "contact_name": "张先生",
            "contact_phone": "13800000000",
            "title": f"空调{NUL}",
            "priority": "normal",
        },
        token_from="/tickets/new",
    )
    assert intake.status_code == 422 and "control characters" in intake.get_data(as_text=True)
    person = post_form(
        client,
        "/people",
        {"username": "newbie", "display_name": f"新{NUL}人", "role": "cleaner", "sites": "1", "password": "longenough"},
        token_from="/people",
    )
    assert person.status_code == 422
    assert client.get(f"/console/tickets?q=a{NUL}b").status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == people


def test_a_name_with_a_bidi_override_is_refused_and_free_text_shows_it(app, client, demo):
    login(client, "wangjl")
    person = post_form(
        client,
        "/people",
        {
            "username": "fake",
            "display_name": f"{RLO}王经理\u202c",
            "role": "guard",
            "sites": "1",
            "password": "longenough",
        },
        token_from="/people",
    )
    assert person.status_code == 422 and "invisible characters" in person.get_data(as_text=True)
    comment = post_form(client, "/tickets/BY-20261126-0001/comment", {"text": f"见{RLO}附件"})
    assert comment.status_code == 303
    page = client.get("/tickets/BY-20261126-0001").get_data(as_text=True)
    assert "见⟨U+202E⟩附件" in page and RLO not in page


# --- loose values ----------------------------------------------------------------------------


def test_fit_out_dates_and_noisy_hours_must_make_sense(app, client, demo):
    login(client, "liuxia")
    with app.app_context():
        unit = db.session.scalar(
            sa.select(Location.id)
            .join(Site)
            .where(Site.code == "BY", Location.kind == LocationKind.UNIT)
            .order_by(Location.id.desc())
        )
        before = db.session.scalar(sa.select(sa.func.count()).select_from(FitoutProject))
    form = {
        "unit_id": unit,
        "contractor": "华艺装饰",
        "permit_number": "P-9",
        "starts_on": "0001-01-01",
        "ends_on": "2026-12-31",
        "noisy_hours": "25:99-xx",
        "deposit": "1000",
    }
    response = post_form(client, "/fitout/new", form, token_from="/fitout/new")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "within 10 years of today" in text and "is not two times of day" in text
    assert client.get("/cleaning/scores?month=0001-01").status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FitoutProject)) == before


def test_too_many_failed_logins_say_when_to_try_again(app, client, demo):
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "zhangwei", "password": "wrong", "device_name": "x"})
    locked = client.post(
        "/api/v1/auth/token", json={"username": "zhangwei", "password": "demo1234", "device_name": "x"}
    )
    assert locked.status_code == 429 and 800 < int(locked.headers["Retry-After"]) <= 900
    page = client.post(
        "/login", data={"username": "zhangwei", "password": "demo1234", "csrf_token": csrf_token(client)}
    )
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 800
    assert "Wait 15 minutes" in page.get_data(as_text=True) or "15" in page.get_data(as_text=True)


def test_a_manager_deactivates_someone_who_left_and_is_offered_nothing_they_may_not_do(app, client, demo):
    login(client, "wangjl")
    page = client.get("/people").get_data(as_text=True)
    with app.app_context():
        admin = db.session.scalar(sa.select(User.id).where(User.username == "admin"))
        cleaner = db.session.scalar(sa.select(User.id).where(User.username == "chenmei"))
    assert f"/people/{admin}/password" not in page and f"/people/{cleaner}/password" in page
    assert post_form(client, f"/people/{cleaner}/active", {}).status_code == 303
    gone = app.test_client()
    refused = gone.post("/login", data={"username": "chenmei", "password": "demo1234", "csrf_token": csrf_token(gone)})
    assert refused.status_code == 422
    assert post_form(client, f"/people/{admin}/active", {}).status_code == 404


# --- PDFs: every character inside the margins ----------------------------------------------


def _characters_outside(pdf: bytes, margin_pt: float = 18) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    outside = []
    for number, page in enumerate(document):
        width, height = page.get_size()
        text = page.get_textpage()
        for index in range(text.count_chars()):
            left, bottom, right, top = text.get_charbox(index)
            if left < margin_pt or right > width - margin_pt or bottom < margin_pt or top > height - margin_pt:
                outside.append(f"page {number + 1}: {text.get_text_range(index, 1)!r} at {left:.0f},{bottom:.0f}")
        text.close()
    document.close()
    return outside


@pytest.mark.photos
def test_every_kind_of_pdf_keeps_its_words_inside_the_page(app, client, demo):
    """A notice whose closing rule ran off the right edge; a long contractor; a long checkpoint."""
    long_name = "北京华艺装饰工程有限公司第三分公司（朝阳区建国路八十八号现代城项目部）" * 2
    with app.app_context():
        project = db.session.scalar(sa.select(FitoutProject))
        project.contractor = long_name
        route = db.session.scalar(sa.select(PatrolRoute))
        route.checkpoints[0].location.name = "地下二层东侧消防楼梯间防火门（靠近三号电梯厅与设备机房之间的通道）"
        db.session.commit()
        project_id, route_id = project.id, route.id
    token = get_token(client, "lihua")
    photo = jpeg_bytes(color="orange")
    put_photo(client, token, photo)
    login(client, "wangjl")
    from tests.test_crawl import _records_with_photos  # a violation with its photo, as phones make it

    _records_with_photos(app)
    with app.app_context():
        violation = db.session.scalar(sa.select(Ticket.number).where(Ticket.kind == "violation"))
        inspection = db.session.scalar(sa.select(sa.text("id")).select_from(sa.table("inspection")).limit(1))
    pdfs = {
        "notice": f"/fitout/{project_id}/notices/{violation}.pdf",
        "ticket": f"/tickets/{violation}.pdf",
        "inspection": f"/inspections/{uuid.UUID(str(inspection))}.pdf",
        "scores": "/cleaning/scores.pdf",
        "codes": f"/patrol/routes/{route_id}/codes.pdf",
    }
    for kind, url in pdfs.items():
        response = client.get(url)
        assert response.status_code == 200, (kind, response.status_code)
        assert _characters_outside(response.data) == [], kind
        assert _characters_outside(response.data, margin_pt=200), kind  # the measure sees the words
    assert A4[0] < 600  # the margins above are measured on A4 (595 pt wide)
