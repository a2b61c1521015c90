"""Headers on every response, and what they allow: no inline script or style, no framing."""

import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token, login
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/app.css", "/sw.js", "/api/openapi.json"])
def test_every_response_carries_the_headers(app, client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_hsts_only_over_https_and_behind_a_trusted_proxy(database_url, tmp_path):
    from webapp import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "t", "PHOTO_DIR": str(tmp_path), "PROXY_HOPS": 1})
    client = app.test_client()
    assert "Strict-Transport-Security" in client.get("/healthz", base_url="https://fieldcheck.example").headers
    proxied = client.get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=31536000")

    with app.app_context():
        db.engine.dispose()  # this app's own pool: close its connection now, not at garbage collection


def test_authenticated_pages_are_not_stored_and_htmx_may_not_eval(app, client, demo):
    login(client, "wangjl")
    response = client.get("/console")
    assert response.headers["Cache-Control"] == "no-store"
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', response.get_data(as_text=True)).group(1)
    assert '"allowEval": false' in config and '"allowScriptTags": false' in config and '"historyCacheSize": 0' in config


def test_files_named_by_their_build_are_kept_by_the_browser_and_others_are_revalidated(app, client):
    from webapp.pwa.views import asset

    with app.test_request_context():
        versioned = asset("css/app.css")
    assert client.get(versioned).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "immutable" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_no_template_has_inline_script_style_or_handlers():
    """What the policy forbids is not written in the first place (the JSON data block aside)."""
    for template in (ROOT / "templates").rglob("*.html"):
        html = template.read_text()
        assert not re.search(r"\sstyle=|\son[a-z]+=|hx-on|javascript:", html), template
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (template, tag)


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


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_ends_stuck_statements_and_idle_transactions_and_healthz_shows_held_pulls(app, client):
    """A stuck writer would hold every phone's pull back: the server ends it (timeouts on every
    connection), and /healthz says how long pulls have been held meanwhile."""
    with app.app_context():
        assert db.session.scalar(sa.text("SHOW statement_timeout")) == "30s"
        assert db.session.scalar(sa.text("SHOW idle_in_transaction_session_timeout")) == "1min"
        db.session.rollback()
    assert client.get("/healthz").get_json() == {"status": "ok", "pull_horizon_age_s": 0.0}
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.NullPool)
    try:
        with engine.connect() as writer:
            writer.execute(sa.text("SELECT pg_current_xact_id()"))  # a writing transaction, left open
            deadline = time.monotonic() + 30
            while (age := client.get("/healthz").get_json()["pull_horizon_age_s"]) < 0.2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert age < 30
            writer.rollback()
    finally:
        engine.dispose()
    assert client.get("/healthz").get_json()["pull_horizon_age_s"] == 0.0
