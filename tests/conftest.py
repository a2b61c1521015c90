"""Fixtures: every database test runs on SQLite and on PostgreSQL, on a schema made by the
migrations; every test marked ``photos`` runs with the local photo folder and with the S3 object
store. PostgreSQL comes from ``TEST_POSTGRES_URL``, S3 from ``TEST_S3_URL`` (``make test`` starts
both); a missing server is an error, never a skip."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

import foundation.org
from demo.world import clear_all, load_demo
from foundation.base import Base
from foundation.org import User
from foundation.roles import Role
from tests.helpers import NOW
from webapp import create_app
from webapp.extensions import db

ARTIFACTS = Path(__file__).parent / "artifacts"
BACKENDS = ["sqlite", "postgresql"]
PHOTO_BACKENDS = ["local", "s3"]


def pytest_generate_tests(metafunc):
    chosen = any("photo_backend" in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize"))
    if metafunc.definition.get_closest_marker("photos") and "photo_backend" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("photo_backend", PHOTO_BACKENDS)


@pytest.fixture
def photo_backend() -> str:
    """Where photos go: the local folder unless the test is marked ``photos`` (then both)."""
    return "local"


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    """A bucket of its own on the test S3 server, for this test session."""
    import boto3

    if not os.environ.get("TEST_S3_URL"):
        pytest.fail("TEST_S3_URL is not set: run the tests with `make test`, which starts an S3 server")
    name = f"fieldcheck-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def _cheap_password_hash(monkeypatch):
    monkeypatch.setattr(foundation.org, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


def _postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.fail("TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL")
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    """A migrated, empty database of each kind, made once per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    else:
        server = sa.make_url(_postgres_url())
        name = f"fieldcheck_test_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = server.set(database=name).render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "migrate"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url, tmp_path, photo_backend, request):
    photo_store = ""
    if photo_backend == "s3":  # a prefix of its own in the session's bucket: an empty store
        photo_store = f"s3://{request.getfixturevalue('s3_bucket')}/{uuid.uuid4().hex}"
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "PHOTO_DIR": str(tmp_path / "photos"),
            "PHOTO_STORE": photo_store,
            "TESTING": True,
        }
    )
    with app.app_context():
        _empty_all_tables()
    yield app
    with app.app_context():
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = Base.metadata.sorted_tables
    if db.engine.dialect.name == "postgresql":
        engine_tables = ["procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_events"]
        names = ", ".join([f'"{t.name}"' for t in tables] + engine_tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        clear_all(db.session)
    db.session.commit()


@pytest.fixture
def photo_store(app):
    """The app's photo store (a folder or the S3 server, as the test runs)."""
    return app.extensions["photo_store"]


@pytest.fixture
def session(app):
    """The database session, for tests that call the domain directly.

    Web tests do not use it: with an app context held open, every request of the test client
    would share one ``g`` and one session, which a real server never does."""
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def demo(app):
    """The demo world: sites BY and XH, staff for every role, the standard checklists,
    loaded at a fixed time (``helpers.NOW``) so that numbers and dates are the same every day."""
    with app.app_context():
        load_demo(db.session, NOW)
        db.session.commit()
    return Demo()


class Demo:
    def user(self, username: str) -> User:
        return db.session.scalar(sa.select(User).where(User.username == username))

    def by_role(self, role: Role, site_code: str = "BY") -> User:
        return next(
            u
            for u in db.session.scalars(sa.select(User).where(User.role == role))
            if site_code in [s.code for s in u.sites]
        )


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client, username: str, password: str = "demo1234", locale: str = "en"):
    """Log in and pick a language (English by default, so tests read the source strings)."""
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303, f"login as {username} failed"
    assert post_form(client, "/language", {"locale": locale}).status_code == 303
    return response


def post_form(client, path: str, data: dict, token_from: str = "/today", **kwargs):
    """POST a form the way the browser does: with the CSRF token of the session."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data}, **kwargs)


def logout(client):
    """Log out the way the page's form does: a post with the session's form token."""
    return post_form(client, "/logout", {})
