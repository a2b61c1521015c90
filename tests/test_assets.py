"""Our own scripts and stylesheet go out minified; the sources keep their comments."""

from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"


def test_own_files_are_served_minified_and_revalidate(client):
    source = (STATIC / "js" / "checklist.js").read_text()
    served = client.get("/static/js/checklist.js")
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    body = served.get_data(as_text=True)
    assert "// The checklist page" in source and "// The checklist page" not in body
    assert len(body) < 0.8 * len(source) and "function showAndHide()" in body
    again = client.get("/static/js/checklist.js", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    css = client.get("/static/css/app.css").get_data(as_text=True)
    assert "/*" not in css and ".phone-frame" in css


def test_third_party_files_and_the_rest_are_served_as_they_are(client):
    htmx = client.get("/static/vendor/htmx.min.js")
    assert htmx.data == (STATIC / "vendor" / "htmx.min.js").read_bytes()
    assert client.get("/static/icons/icon.svg").status_code == 200
    assert client.get("/static/js/nothing.js").status_code == 404
    assert client.get("/static/js/../../pyproject.toml").status_code == 404


def test_the_service_worker_is_minified_after_its_build_lines(client):
    worker = client.get("/sw.js").get_data(as_text=True)
    assert worker.startswith("const BUILD = ") and "// The service worker." not in worker
