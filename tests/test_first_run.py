"""A company starts empty: one administrator (from the shell or the first-run page, which works
only while nobody exists), and the manual's standard checklists ready from the start."""

from __future__ import annotations

import sqlalchemy as sa

from foundation.org import Department, Site, User
from inspections.checklists import ChecklistTemplate
from inspections.library import library
from tests.conftest import csrf_token
from webapp.extensions import db


def counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (User, Department, ChecklistTemplate, Site)
        )


def test_the_first_run_page_creates_the_administrator_once(app, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.get("/login").headers["Location"] == "/setup"
    token = csrf_token(client, "/setup")
    refused = client.post(
        "/setup", data={"username": "boss", "display_name": "王总", "password": "short", "csrf_token": token}
    )
    assert refused.status_code == 422 and "At least 8 characters." in refused.get_data(as_text=True)
    assert counts(app) == (0, 0, 0, 0)  # a refusal changes nothing

    made = client.post(
        "/setup", data={"username": "boss", "display_name": "王总", "password": "a-long-secret", "csrf_token": token}
    )
    assert made.status_code == 303 and made.headers["Location"] == "/places"
    page = client.get("/places").get_data(as_text=True)
    assert "No sites yet" in page  # signed in as the administrator, and the company is empty
    assert counts(app) == (1, 4, len(library()), 0)
    with app.app_context():
        admin = db.session.scalar(sa.select(User))
        assert (admin.username, admin.role, admin.display_name) == ("boss", "admin", "王总")

    stranger = app.test_client()
    assert stranger.get("/setup").status_code == 404  # once anyone exists, the page is gone
    assert stranger.post(
        "/setup", data={"username": "x", "display_name": "x", "password": "a-long-secret"}
    ).status_code in (400, 404)
    assert stranger.get("/login").status_code == 200
    assert counts(app)[0] == 1


def test_create_admin_from_the_shell_installs_the_standards_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "root", "--password", "a-long-secret"])
    assert result.exit_code == 0, result.output
    assert counts(app) == (1, 4, len(library()), 0)
    again = runner.invoke(args=["create-admin", "root", "--password", "a-long-secret"])
    assert again.exit_code != 0 and "root is taken" in again.output
    second = runner.invoke(args=["create-admin", "root2", "--password", "a-long-secret"])
    assert second.exit_code == 0
    assert counts(app) == (2, 4, len(library()), 0)  # the standards are not doubled
