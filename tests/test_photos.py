"""Photos: only safe images are stored, and what is served carries no EXIF."""

import io
import re
from datetime import datetime, timezone

import pypdfium2
import pytest
import sqlalchemy as sa
from PIL import Image

from foundation.org import Location, LocationKind, Site
from foundation.photos import (
    Photo,
    PhotoLimits,
    PhotoRefused,
    display_name,
    ingest_photo,
    original_name,
    prepare_photo,
    thumb_name,
)
from tests.conftest import login, logout, post_form
from tests.helpers import jpeg_bytes, sha
from tests.sync_client import auth, get_token, push, put_photo, site_id_of, ticket_create
from tickets.models import Ticket
from webapp.extensions import db

pytestmark = pytest.mark.photos  # each test here on the local folder and on the S3 server

LIMITS = PhotoLimits(max_bytes=2 * 1024 * 1024, max_pixels=40_000_000)


def _exif(orientation: int | None = None, taken: str = "2026:11:25 21:14:05", gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x0132] = taken  # DateTime
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif.get_ifd(0x8825)[2] = (31.0, 14.0, 0.0)  # GPSLatitude
    return exif.tobytes()


def _png(size) -> bytes:
    out = io.BytesIO()
    Image.new("L", size).save(out, "PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


def test_a_photo_is_kept_as_sent_and_served_upright_without_exif(session, demo, photo_store):
    store = photo_store
    data = jpeg_bytes((400, 200), exif=_exif(orientation=6))  # camera held sideways
    shanghai = datetime(2026, 11, 25, 13, 14, 5, tzinfo=timezone.utc)

    from zoneinfo import ZoneInfo

    photo, created = ingest_photo(
        session, store, data, limits=LIMITS, uploaded_by=demo.user("chenmei"), local_tz=ZoneInfo("Asia/Shanghai")
    )

    assert created and photo.sha256 == sha(data)
    assert store.get(original_name(photo.sha256)) == data  # the evidence, byte for byte
    assert photo.captured_at == shanghai
    with Image.open(io.BytesIO(store.get(display_name(photo.sha256)))) as shown:
        assert shown.size == (200, 400)  # rotated upright
        assert len(shown.getexif()) == 0 and "exif" not in shown.info
    with Image.open(io.BytesIO(store.get(thumb_name(photo.sha256)))) as thumb:
        assert max(thumb.size) <= 320
    again, created_again = ingest_photo(session, store, data, limits=LIMITS, uploaded_by=None)
    assert again is photo and not created_again


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("text named .jpg", b"this is not a photo at all\n" * 10, "photo_not_an_image"),
        ("truncated JPEG", jpeg_bytes((800, 600))[:1500], "photo_not_an_image"),
        ("20000x20000 PNG", _png((20000, 20000)), "photo_too_many_pixels"),
        ("over the byte limit", b"\xff\xd8" + b"\0" * (2 * 1024 * 1024), "photo_too_large"),
        ("a GIF", _gif(), "photo_unsupported_type"),
    ],
)
def test_refused_uploads_store_nothing(session, demo, photo_store, name, data, code):
    with pytest.raises(PhotoRefused) as refused:
        ingest_photo(session, photo_store, data, limits=LIMITS, uploaded_by=demo.user("chenmei"))
    assert refused.value.code == code, name
    assert not any(photo_store.exists(f(sha(data))) for f in (original_name, display_name, thumb_name))
    assert session.get(Photo, sha(data)) is None


def test_a_wrong_hash_is_refused(session, demo, photo_store):
    data = jpeg_bytes()
    with pytest.raises(PhotoRefused) as refused:
        ingest_photo(session, photo_store, data, limits=LIMITS, uploaded_by=None, expected_sha256="0" * 64)
    assert refused.value.code == "photo_hash_mismatch"
    assert not photo_store.exists(original_name(sha(data)))


def test_a_stored_file_is_never_rewritten_and_a_missing_one_is_not_found(photo_store):
    name = original_name("ab" * 32)
    photo_store.put(name, b"the evidence")
    photo_store.put(name, b"something else under the same name")
    assert photo_store.get(name) == b"the evidence"
    with pytest.raises(FileNotFoundError):
        photo_store.get(original_name("cd" * 32))


def test_store_names_cannot_escape_the_store(photo_store):
    with pytest.raises(ValueError):
        photo_store.put("../outside", b"x")


def test_a_photo_is_served_to_those_who_may_see_it_only(app, client, demo):
    from tests.sync_client import get_token, put_photo

    data = jpeg_bytes()
    assert put_photo(client, get_token(client, "chenmei"), data).status_code == 201
    login(client, "chenmei")  # who uploaded it
    shown = client.get(f"/photos/{sha(data)}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    logout(client)
    login(client, "sunqiang")  # a guard of the other site
    assert client.get(f"/photos/{sha(data)}").status_code == 404
    assert client.get(f"/photos/{sha(data)}/thumb").status_code == 404


@pytest.mark.parametrize("photo_backend", ["s3"])
def test_a_photo_sent_to_one_app_server_is_shown_by_another(app, client, demo, tmp_path, photo_backend):
    from tests.sync_client import get_token, put_photo
    from webapp import create_app
    from webapp.extensions import db

    other_server = create_app({**app.config, "PHOTO_DIR": str(tmp_path / "another-machine")})
    data = jpeg_bytes((640, 480))
    assert put_photo(client, get_token(client, "chenmei"), data).status_code == 201

    other = other_server.test_client()
    login(other, "chenmei")
    shown = other.get(f"/photos/{sha(data)}")
    with other_server.app_context():
        db.engine.dispose()
    assert shown.status_code == 200 and Image.open(io.BytesIO(shown.data)).size == (640, 480)
    assert not (tmp_path / "another-machine").exists() and not (tmp_path / "photos").exists()


def test_a_transparent_signature_is_dark_strokes_on_white_in_every_copy():
    """Signatures are black strokes on a transparent canvas; dropping the alpha made them black boxes."""
    from PIL import ImageDraw

    canvas = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(40, 150), (200, 40), (360, 160), (560, 50)], fill=(0, 0, 0, 255), width=6)
    out = io.BytesIO()
    canvas.save(out, "PNG")
    data = out.getvalue()
    prepared = prepare_photo(data, limits=LIMITS)
    for copy in (prepared.display, prepared.thumb):
        with Image.open(io.BytesIO(copy)) as image:
            pixels = image.convert("L").histogram()
        light = sum(pixels[201:]) / sum(pixels)  # the histogram: how many pixels of each grey
        dark = sum(pixels[:80])
        assert light > 0.9 and dark > 0, (light, dark)


# --- regressions of a black-box probe (issue 14): a hash grants nothing ---


@pytest.mark.photos
def test_a_hash_of_another_sites_photo_grants_nothing_until_the_bytes_are_sent(app, client, demo):
    photo = jpeg_bytes(color="blue")
    by_guard = get_token(client, "zhangwei")
    assert put_photo(client, by_guard, photo).status_code == 201
    xh_guard = get_token(client, "sunqiang")
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(by_guard)).status_code == 200
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(xh_guard)).status_code == 404

    result = push(client, xh_guard, [ticket_create(site_id_of(app, "XH"), photos=[sha(photo)])]).get_json()
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
