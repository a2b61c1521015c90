"""Fixtures: every database test runs on SQLite and on PostgreSQL, on a schema made by the
migrations; every test marked ``photos`` runs with the local photo folder and with the S3 object
store. PostgreSQL comes from ``TEST_POSTGRES_URL``, S3 from ``TEST_S3_URL`` (``make test`` starts
both); a missing server is an error, never a skip."""

from __future__ import annotations

import os
import re
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

import foundation.org
from demo.world import load_demo
from foundation.org import User
from foundation.roles import Role
from tests.helpers import NOW
from webapp import create_app
from webapp.extensions import db

ARTIFACTS = Path(__file__).parent / "artifacts"
BACKENDS = ["sqlite", "postgresql"]
PHOTO_BACKENDS = ["local", "s3"]


# The longest tests (docs/TESTING.md), started first: workers take the next test as they finish one
# (`--maxschedchunk 1`, Makefile), so the long ones are shared out at the start and the short ones
# fill in at the end, and the two workers finish together. The three tests serving the README's
# commands on its one port take turns (tests/readme_company.py); they are spread out, so that one
# worker does not wait for the other's (the two README runs side by side cost 35–50 s of waiting).
README_RUN = "tests/test_readme.py::test_the_readmes_company_commands_run_as_written"
RUN_FIRST = (
    "tests/e2e/test_first_week.py",
    "tests/e2e/test_phone_chaos.py",
    "tests/test_crawl.py",
    f"{README_RUN}[postgresql]",
    "tests/test_chaos.py",
    "tests/test_jobs.py::test_two_workers",
    "tests/e2e/test_checklist_builder.py::test_a_checklist_from_a_workbook",
    "tests/e2e/test_fitout.py::test_violation_offline",
    f"{README_RUN}[sqlite]",
)


def pytest_configure(config):
    # When this run began: its workers (started after this, with this environment) keep one
    # screenshot of each page per run (tests/e2e/conftest.py::screenshot).
    os.environ.setdefault("FIELDCHECK_TESTS_STARTED", str(time.time()))


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        return next((n for n, prefix in enumerate(RUN_FIRST) if item.nodeid.startswith(prefix)), len(RUN_FIRST))

    items.sort(key=rank)  # stable: the rest keep pytest's order


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


CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1000"


@pytest.fixture(autouse=True)
def _cheap_password_hash(monkeypatch):
    monkeypatch.setattr(foundation.org, "PASSWORD_METHOD", CHEAP_PASSWORD_HASH)


def _postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.fail("TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL")
    return url


class Worlds:
    """The worlds tests start from, built once per test session and backend and copied for each
    test: a migrated empty database, and the same with the demo loaded at ``helpers.NOW``. A copy
    costs a few milliseconds (PostgreSQL ``CREATE DATABASE … TEMPLATE``, SQLite's backup API);
    loading the demo costs a few hundred."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[tuple[str, bool], str] = {}

    def template(self, backend: str, with_demo: bool) -> str:
        key = (backend, with_demo)
        if key not in self.built:
            url = self._new_database(backend)
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": "migrate"})
            with app.app_context():
                upgrade()
                if with_demo:
                    method, foundation.org.PASSWORD_METHOD = foundation.org.PASSWORD_METHOD, CHEAP_PASSWORD_HASH
                    try:
                        load_demo(db.session, NOW)
                        db.session.commit()
                    finally:
                        foundation.org.PASSWORD_METHOD = method
                db.session.remove()
                db.engine.dispose()
            self.built[key] = url
        return self.built[key]

    def copy(self, backend: str, with_demo: bool) -> str:
        """A database of the test's own, a copy of the world it asked for."""
        template = self.template(backend, with_demo)
        if backend == "sqlite":
            url = self._new_database(backend)
            with (
                sqlite3.connect(sa.make_url(template).database) as source,
                sqlite3.connect(sa.make_url(url).database) as target,
            ):
                source.backup(target)
            return url
        name = f"fieldcheck_test_{uuid.uuid4().hex[:12]}"
        with self._server() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(template).database}"')
        return sa.make_url(template).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        made = sa.make_url(url)
        if made.get_backend_name() == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{made.database}{suffix}").unlink(missing_ok=True)
            return
        with self._server() as conn:  # FORCE: a worker or server thread the test left connected
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{made.database}" WITH (FORCE)')

    def drop_templates(self) -> None:
        for url in self.built.values():
            self.drop(url)

    def _new_database(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.folder / uuid.uuid4().hex}.db"
        name = f"fieldcheck_world_{uuid.uuid4().hex[:12]}"
        with self._server() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return sa.make_url(_postgres_url()).set(database=name).render_as_string(hide_password=False)

    @contextmanager
    def _server(self):
        engine = sa.create_engine(sa.make_url(_postgres_url()), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def worlds(tmp_path_factory):
    built = Worlds(tmp_path_factory.mktemp("worlds"))
    yield built
    built.drop_templates()


@pytest.fixture(params=BACKENDS)
def database_url(request, worlds) -> str:
    """The test's own migrated database on each backend: with the demo world in it when the test
    asks for ``demo`` (directly or through another fixture), empty otherwise."""
    url = worlds.copy(request.param, with_demo="demo" in request.fixturenames)
    yield url
    worlds.drop(url)


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
            "VAPID_KEY_FILE": str(tmp_path / "vapid_private.pem"),  # none until a test makes it
            "TESTING": True,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


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
    loaded at a fixed time (``helpers.NOW``) so that numbers and dates are the same every day.
    The test's database is a copy of it (``Worlds``)."""
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
