"""The photo endpoint against damaged files: JPEG, PNG and WebP with flipped, cut, inserted and
overwritten bytes. Whatever arrives, the answer is never a 500, and a refused file leaves
nothing behind: no row, no file under any of its names."""

import hashlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from foundation.photos import Photo, display_name, original_name, thumb_name
from tests.sync_client import get_token, put_photo
from webapp import photo_store
from webapp.extensions import db


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (64, 48), "#3a7")
    image.putpixel((5, 5), (255, 0, 0))
    image.save(out, fmt)
    return out.getvalue()


SAMPLES = {"image/jpeg": _image("JPEG"), "image/png": _image("PNG"), "image/webp": _image("WEBP")}


@st.composite
def damaged(draw):
    content_type = draw(st.sampled_from(sorted(SAMPLES)))
    data = bytearray(SAMPLES[content_type])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        match draw(st.sampled_from(["flip", "cut", "insert", "overwrite"])):
            case "flip":
                if data:  # an earlier cut may have left nothing to flip
                    data[at] ^= 1 << draw(st.integers(0, 7))
            case "cut":
                del data[at:]
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=64))
            case "overwrite":
                chunk = draw(st.binary(min_size=1, max_size=32))
                data[at : at + len(chunk)] = chunk
    return bytes(data), content_type


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@pytest.mark.photos
@given(sample=damaged())
def test_damaged_images_never_break_the_server_and_refused_ones_leave_nothing(app, client, demo, sample):
    data, content_type = sample
    token = getattr(app, "_fuzz_token", None) or get_token(client, "chenmei")
    app._fuzz_token = token
    response = put_photo(client, token, data, content_type)
    assert response.status_code < 500, response.get_data(as_text=True)
    sha = hashlib.sha256(data).hexdigest()
    with app.app_context():
        stored = db.session.get(Photo, sha)
        files = [photo_store.store().exists(name(sha)) for name in (original_name, display_name, thumb_name)]
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert error["code"].startswith("photo_") and error["message"]
        assert stored is None and files == [False, False, False]
    else:
        assert stored is not None and all(files)
        with app.app_context():
            Image.open(io.BytesIO(photo_store.store().get(display_name(sha)))).verify()  # a sound JPEG to show
