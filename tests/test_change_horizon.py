"""Many writers, one change log, no global lock (PostgreSQL, where app servers write side by side;
SQLite's writers take turns by design). A slow writer holds back no other writer, and a pull
never skips the change of a transaction that commits after a later one."""

import threading

import pytest
import sqlalchemy as sa

from foundation.org import Site
from sync.changes import changes_since
from tests import factories
from webapp.extensions import db

# Writers side by side are PostgreSQL's: this module runs there only (the session-wide fixture's
# PostgreSQL parameter).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _pull_all(cursor, site_ids):
    """Pull until nothing more, as a phone does; returns the ids handed out and the cursor."""
    seen = []
    while True:
        rows = changes_since(db.session, cursor, site_ids, 100)
        db.session.rollback()
        if not rows:
            return seen, cursor
        seen += [(row.entity, row.entity_id) for row in rows]
        cursor = (rows[-1].xact_id, rows[-1].seq)


def test_a_slow_writer_holds_back_no_other_writer_and_no_late_change_is_skipped(app):
    with app.app_context():
        slow_site, quick_site = factories.site(db.session), factories.site(db.session)
        db.session.commit()
        ids = [slow_site.id, quick_site.id]
        _, cursor = _pull_all((0, 0), ids)

    wrote, release, slow_done = threading.Event(), threading.Event(), threading.Event()
    failures = []

    def slow_writer():
        try:
            with app.app_context():
                db.session.get(Site, ids[0]).name = "慢的改名"
                db.session.flush()  # logged, in a transaction that stays open
                wrote.set()
                release.wait(30)
                db.session.commit()
        except Exception as error:  # reported by the test below
            failures.append(error)
        finally:
            wrote.set()
            slow_done.set()

    threading.Thread(target=slow_writer, daemon=True).start()
    assert wrote.wait(30) and not failures
    try:
        with app.app_context():
            # Waiting for any lock the slow writer holds fails at once instead of waiting.
            db.session.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
            db.session.get(Site, ids[1]).name = "快的改名"
            db.session.commit()  # had it queued behind the slow writer, this would have failed

            during, cursor = _pull_all(cursor, ids)
            # The quick change committed, the slow one not yet: handing out the quick one now and
            # moving the cursor past it would skip the slow one for good.
            assert during == []
    finally:
        release.set()
    assert slow_done.wait(30) and not failures

    with app.app_context():
        after, _ = _pull_all(cursor, ids)
    assert sorted(after) == sorted([("site", str(ids[0])), ("site", str(ids[1]))])


def test_a_transaction_of_another_database_on_the_server_holds_no_pull_back(app, database_url):
    """Transaction ids are the server's, not the database's: a writer in another database (another
    application, another test worker) once held every pull here at "nothing new"."""
    server = sa.make_url(database_url)
    other = f"{server.database}_other"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{other}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{other}"')
    elsewhere = sa.create_engine(server.set(database=other))
    try:
        with elsewhere.connect() as writer:
            writer.exec_driver_sql("CREATE TABLE t (n int)")
            writer.exec_driver_sql("INSERT INTO t VALUES (1)")  # an id of the server's, held open
            with app.app_context():
                site_id = factories.site(db.session).id
                db.session.commit()
                handed, _ = _pull_all((0, 0), [site_id])
            assert ("site", str(site_id)) in handed
            writer.rollback()
    finally:
        elsewhere.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{other}"')
        admin.dispose()
