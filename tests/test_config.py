"""Configuration is read once and strictly."""

import pytest
import sqlalchemy as sa

from webapp import create_app
from webapp.config import ConfigError, load_config
from webapp.extensions import db


def test_environment_overrides_defaults():
    config = load_config({"SECRET_KEY": "s", "PHOTO_MAX_BYTES": "1000", "SESSION_COOKIE_SECURE": "true"})
    assert config["PHOTO_MAX_BYTES"] == 1000 and config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "s", "PHOTO_MAX_BYTES": "lots"}, "not a whole number"),
        ({"SECRET_KEY": "s", "PHOTO_MAX_PIXELS": "0"}, "below 1"),
        ({"SECRET_KEY": "s", "SESSION_COOKIE_SECURE": "maybe"}, "not a boolean"),
    ],
)
def test_nonsense_is_refused(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ)


def test_on_sqlite_pages_that_only_read_do_not_take_the_write_lock(app, client, demo):
    """Gunicorn's workers read side by side: a GET begins a deferred transaction unless its view
    writes on the way (the sync pull's last-seen); everything else is IMMEDIATE."""
    import sqlalchemy as sa

    from tests.conftest import login
    from tests.sync_client import get_token
    from webapp.extensions import db

    begins = []
    with app.app_context():
        engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: begins.append(statement) if statement.startswith("BEGIN") else None,
    )
    login(client, "wangjl")
    begins.clear()
    client.get("/console")
    client.get("/today")  # reads only: the jobs make what is due (webapp/jobs.py)
    assert set(begins) == ({"BEGIN"} if sqlite else set())  # PostgreSQL: the driver's own BEGIN, untouched
    token = get_token(client, "chenmei")
    begins.clear()
    client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
    assert set(begins) == ({"BEGIN IMMEDIATE"} if sqlite else set())


@pytest.fixture
def app_without_database(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        {
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/gone",
            "SECRET_KEY": "s",
            "PHOTO_DIR": str(tmp_path),
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_database_that_does_not_answer_is_a_503_to_retry_not_a_500(app_without_database):
    client = app_without_database.test_client()
    api = client.get("/api/v1/sync/pull", headers={"Authorization": "Bearer some-token"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert api.get_json()["error"]["code"] == "database_unavailable"
    page = client.post("/login", data={"username": "chenmei", "password": "x"}, headers={"Accept-Language": "en"})
    assert page.status_code == 503 and "cannot reach its database" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 503  # the load balancer takes this server out


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_signed_in_person_whose_database_goes_away_gets_the_503_page(app, client, demo, database_url):
    """Her page needs the database to know who she is; the page saying the database is gone
    must not (it was a bare "Internal Server Error" while the chaos harness cut the database)."""
    from tests.conftest import login

    login(client, "chenmei")
    name = sa.make_url(database_url).database
    admin = sa.create_engine(sa.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        with app.app_context():
            db.engine.dispose()
        page = client.get("/today", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "服务器暂时连不上数据库" in page.get_data(as_text=True)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.dispose()
    assert client.get("/today").status_code == 200  # and she is still signed in
