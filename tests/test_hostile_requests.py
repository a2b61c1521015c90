"""Requests a black-box probe sent, each once a 500 or a leak: deep or huge JSON, NUL in a URL,
passwords no login form can type, a login whose time told who has an account, photo copies that
kept the upload's comment, and photos a shared phone's browser showed after logout without
asking. Each through HTTP, on both databases."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image

import foundation.org
from foundation.org import Location, LocationKind, Site, User
from tests.conftest import login, logout, post_form
from tests.helpers import sha
from tests.sync_client import auth, get_token, push, put_photo, site_id_of, ticket_create
from webapp.extensions import db


def _api(client, token, path, body: bytes, method="post"):
    return getattr(client, method)(path, data=body, headers={**auth(token), "Content-Type": "application/json"})


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"device_time": "2026-11-26T10:00:00+08:00", "mutations": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}",
        b'{"device_time": "2026-11-26T10:00:00+08:00", "mutations": [], "n": ' + b"9" * 5_001 + b"}",
    ],
    ids=["100,000 nested arrays", "nested inside a push", "a 5,001-digit integer"],
)
def test_deep_or_huge_json_is_a_400_in_the_documented_shape(client, demo, body):
    token = get_token(client, "chenmei")
    for path, method in (("/api/v1/sync/push", "post"), ("/api/v1/sync/drafts", "put")):
        response = _api(client, token, path, body, method)
        assert response.status_code == 400, path
        assert response.get_json()["error"]["code"] == "malformed_json"


def test_a_nul_in_a_drafts_report_is_refused_and_nothing_is_stored(app, client, demo):
    token = get_token(client, "chenmei")
    body = {
        "drafts": [
            {
                "inspection_id": str(uuid.uuid4()),
                "template_id": 1,
                "template_version": 1,
                "answered": ["floor\u0000"],
                "updated_at": "2026-11-26T10:00:00+08:00",
            }
        ]
    }
    response = client.put("/api/v1/sync/drafts", json=body, headers=auth(token))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize(
    "path",
    [
        "/tickets/BY-20261126-0002%00",
        "/tickets/A%00",
        "/tickets/A%00.pdf",
        "/tickets/A%01/comment",
        "/tickets/A%00/transition",
        "/fitout/evidence/A%00/" + "a" * 64 + ".jpg",
        "/photos/" + "a" * 63 + "%00",
        "/photos/" + "a" * 63 + "%00/thumb",
    ],
)
def test_a_control_character_in_a_url_is_not_found_on_both_databases(client, demo, path):
    login(client, "admin")
    assert client.get(path).status_code == 404
    if path.endswith(("/comment", "/transition")):
        assert post_form(client, path, {"text": "x"}).status_code == 404


@pytest.mark.parametrize(
    "password, words",
    [
        ("abc\u0000defgh", "Remove the control characters"),
        ("x" * 201, "At most 200 characters."),
        ("short", "At least"),
    ],
)
def test_a_password_no_login_form_could_type_is_refused_everywhere_it_is_set(app, client, demo, password, words):
    with app.app_context():
        cleaner = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        before, by = cleaner.password_hash, cleaner.sites[0].id
    login(client, "wangjl")
    reset = post_form(client, f"/people/{cleaner.id}/password", {"password": password}, token_from="/people")
    assert reset.status_code == 422 and words in reset.get_data(as_text=True)
    added = post_form(
        client,
        "/people",
        {
            "username": "newbie",
            "display_name": "新人",
            "role": "cleaner",
            "department_id": 0,
            "sites": [by],
            "password": password,
        },
        token_from="/people",
    )
    assert added.status_code == 422 and words in added.get_data(as_text=True)
    sheet = f"username,name,role,sites,password\nnewbie2,新人,cleaner,BY,{password}\n".encode()
    imported = post_form(
        client,
        "/people/import",
        {"file": (io.BytesIO(sheet), "people.csv")},
        token_from="/people/import",
        content_type="multipart/form-data",
    )
    assert imported.status_code == 422
    with app.app_context():
        assert db.session.get(User, cleaner.id).password_hash == before
        assert db.session.scalar(sa.select(sa.func.count()).where(User.username.in_(["newbie", "newbie2"]))) == 0


def test_an_unknown_username_costs_the_same_hash_as_a_wrong_password(client, demo, monkeypatch):
    """Timing told who has an account (190 ms against 10 ms); now each attempt hashes once."""
    hashed = []
    real = foundation.org.check_password_hash
    monkeypatch.setattr(foundation.org, "check_password_hash", lambda *args: hashed.append(1) or real(*args))
    for username in ("chenmei", "nobody-here"):
        hashed.clear()
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": "wrong-password", "device_name": "x"}
        )
        assert response.status_code == 401 and hashed == [1], username


def _png_with_comment() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret: the guard's home address")
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _jpeg_with_comment() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "JPEG", comment=b"secret: the guard's home address")
    return out.getvalue()


@pytest.mark.parametrize("make", [_jpeg_with_comment, _png_with_comment], ids=["jpeg", "png"])
def test_served_copies_carry_no_comment_and_every_request_is_checked(client, demo, make):
    data = make()
    assert (
        put_photo(
            client, get_token(client, "chenmei"), data, "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
        ).status_code
        == 201
    )
    login(client, "chenmei")
    for path in (f"/photos/{sha(data)}", f"/photos/{sha(data)}/thumb"):
        shown = client.get(path)
        body = shown.get_data()
        assert shown.status_code == 200 and b"secret" not in body
        with Image.open(io.BytesIO(body)) as image:
            assert "comment" not in image.info and "exif" not in image.info and "xmp" not in image.info
        assert shown.headers["Cache-Control"] == "private, no-cache"
        again = client.get(path, headers={"If-None-Match": shown.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""
    logout(client)
    login(client, "sunqiang")  # another site's guard on the same phone: revalidation asks who
    assert client.get(f"/photos/{sha(data)}", headers={"If-None-Match": shown.headers["ETag"]}).status_code == 404


# --- regressions of a black-box probe (issue 14): control and invisible characters ---


NUL = "\x00"
RLO = "\u202e"


def test_nul_bytes_are_refused_by_name_at_every_edge_and_change_nothing(app, client, demo):
    token = get_token(client, "zhangwei")
    by = site_id_of(app, "BY")
    results = push(client, token, [ticket_create(by, f"灯{NUL}坏"), ticket_create(by, "灯坏")]).get_json()["results"]
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
