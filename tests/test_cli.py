"""Administration from the shell."""

import sqlalchemy as sa

from foundation.org import Site, User
from webapp.extensions import db


def _user(app, username):
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.username == username))


def test_create_user_and_reset_password(app, demo, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "night1",
            "--name",
            "夜班保安",
            "--role",
            "guard",
            "--site",
            "BY",
            "--department",
            "security",
            "--password",
            "night-shift-1",
        ]
    )
    assert result.exit_code == 0, result.output
    user = _user(app, "night1")
    assert user.role == "guard" and user.check_password("night-shift-1")
    result = runner.invoke(args=["reset-password", "night1", "--password", "changed-pass-2"])
    assert result.exit_code == 0
    assert _user(app, "night1").check_password("changed-pass-2")


def test_create_user_refuses_unknown_sites_and_taken_names(app, demo):
    runner = app.test_cli_runner()
    unknown = runner.invoke(
        args=["create-user", "x1", "--name", "x", "--role", "guard", "--site", "ZZ", "--password", "whatever-1"]
    )
    taken = runner.invoke(
        args=["create-user", "chenmei", "--name", "x", "--role", "guard", "--site", "BY", "--password", "whatever-1"]
    )
    assert unknown.exit_code == 2 and "unknown site" in unknown.output
    assert taken.exit_code == 2 and "taken" in taken.output
    assert _user(app, "x1") is None


def test_demo_load_then_reset(app):
    runner = app.test_cli_runner()
    assert "demo data loaded" in runner.invoke(args=["demo", "load"]).output
    assert "already has data" in runner.invoke(args=["demo", "load"]).output
    with app.app_context():
        db.session.add(Site(code="ZZ", name="临时"))
        db.session.commit()
    assert runner.invoke(args=["demo", "reset", "--yes"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(Site).where(Site.code == "ZZ")) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 2


def test_config_prints_settings_without_the_secret(app):
    output = app.test_cli_runner().invoke(args=["config"]).output
    assert "SECRET_KEY=***" in output and "test-secret" not in output
    assert "PHOTO_MAX_BYTES=15728640" in output


def test_each_scheduled_job_runs_by_hand_once_and_is_noted(app, demo):
    """Each job says what it did; run again at once, it has nothing more to do."""
    from foundation.jobs import JobRun
    from webapp.jobs import JOBS

    runner = app.test_cli_runner()
    for job in JOBS:
        first = runner.invoke(args=["jobs", "run", job.name])
        assert first.exit_code == 0 and first.output.startswith(f"{job.name}: "), job.name
        again = runner.invoke(args=["jobs", "run", job.name])
        assert again.output == f"{job.name}: 0 done\n", job.name
    with app.app_context():
        runs = {run.name: (run.runs, run.last_ok, run.failures) for run in db.session.scalars(sa.select(JobRun))}
    assert runs == {job.name: (2, True, 0) for job in JOBS}
    assert runner.invoke(args=["jobs", "run", "no_such_job"]).exit_code == 2


def test_demo_history_spreads_tickets_and_checks_over_the_past_once_and_only_for_the_demo(app):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["demo", "history", "--tickets", "10", "--inspections", "10"])
    assert refused.exit_code == 1 and "demo is not loaded" in refused.output
    runner.invoke(args=["demo", "load"])
    result = runner.invoke(args=["demo", "history", "--tickets", "400", "--inspections", "300"])
    assert result.exit_code == 0 and "400 tickets and 300 inspections" in result.output
    assert "already" in runner.invoke(args=["demo", "history"]).output
    from inspections.records import Inspection
    from tickets.models import Ticket

    with app.app_context():
        made = db.session.scalars(sa.select(Ticket).where(Ticket.number.contains("-H"))).all()
        assert len(made) == 400 and len({t.number for t in made}) == 400
        closed = [t for t in made if t.state == "closed"]
        assert len(closed) > 300 and all(t.closed_at > t.created_at for t in closed)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) >= 300
        # A made-up ticket opens like any other.
        client = app.test_client()
    from tests.conftest import login

    login(client, "wangjl")
    assert client.get(f"/tickets/{made[0].number}").status_code == 200


def test_health_answers_without_login_and_says_nothing_else(app, client):
    response = client.get("/healthz")
    # PostgreSQL also says how long phones' pulls are held back (tests/test_security.py).
    assert response.status_code == 200 and response.get_json() in (
        {"status": "ok"},
        {"status": "ok", "pull_horizon_age_s": 0.0},
    )
