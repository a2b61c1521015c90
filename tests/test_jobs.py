"""Scheduled work runs on the job engine in worker processes, never on page views: a started
worker runs every job and the console says so; on PostgreSQL two workers (two machines) run
each job once per period between them."""

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from foundation.jobs import JobRun
from tests.conftest import login
from webapp.extensions import db
from webapp.jobs import JOBS

WAIT_S = 60  # a worker's start-up (Python, the engine) on a busy two-core machine, with room


def _start_worker(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "FLASK_APP": "webapp:create_app", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret"}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "jobs", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(worker: subprocess.Popen) -> str:
    worker.send_signal(signal.SIGTERM)
    try:
        _, errors = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, errors = worker.communicate()
    return errors


def _runs(app) -> dict[str, JobRun]:
    with app.app_context():
        runs = {run.name: run for run in db.session.scalars(sa.select(JobRun))}
        db.session.expunge_all()
        return runs


def _wait_for(app, workers, ready) -> dict[str, JobRun]:
    """Until ``ready(runs)``; a worker that exits meanwhile fails the test with its errors."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for worker in workers:
            assert worker.poll() is None, f"the worker stopped: {worker.stderr.read()}"
        runs = _runs(app)
        if ready(runs):
            return runs
        time.sleep(0.5)
    raise AssertionError(f"after {WAIT_S} s the jobs had run: {sorted(_runs(app))}")


def test_a_worker_runs_every_job_and_the_console_shows_it(app, client, demo, database_url):
    login(client, "wangjl")
    before = client.get("/console").get_data(as_text=True)
    assert 'id="jobs"' in before and before.count("Never run") == len(JOBS)

    worker = _start_worker(database_url)
    try:
        # A starting worker runs each job's latest period at once (then every period).
        runs = _wait_for(app, [worker], lambda runs: all(job.name in runs for job in JOBS))
    finally:
        errors = _stop(worker)
    assert all(run.last_ok and run.failures == 0 for run in runs.values()), errors
    assert runs["assignments"].last_result > 0  # the demo's schedules made today's checks
    assert "Starting job" not in errors  # at LOG_LEVEL=INFO a run that went well says nothing

    after = client.get("/console").get_data(as_text=True)
    assert "Never run" not in after and after.count("Last run") == len(JOBS) and "Not running" not in after


# Several workers are PostgreSQL's; SQLite's worker queue is in memory: exactly one runs.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_run_each_period_once(app, database_url):
    workers = [_start_worker(database_url), _start_worker(database_url)]
    try:
        _wait_for(app, workers, lambda runs: all(job.name in runs for job in JOBS) and runs["webhooks"].runs >= 2)
    finally:
        for worker in workers:
            _stop(worker)
    with app.app_context():
        deferred = {
            task.split(":")[1]: (jobs, periods, succeeded)
            for task, jobs, periods, succeeded in db.session.execute(
                sa.text(
                    "SELECT task_name, count(*), count(DISTINCT args->>'timestamp'),"
                    " count(*) FILTER (WHERE status = 'succeeded') FROM procrastinate_jobs GROUP BY task_name"
                )
            )
        }
        done = dict(db.session.execute(sa.select(JobRun.name, JobRun.runs)).all())
    # Both workers deferred each period and took jobs, yet each period became one job, run once.
    assert {job.name: deferred[job.name][0] for job in JOBS} == {job.name: deferred[job.name][1] for job in JOBS}
    assert {job.name: done[job.name] for job in JOBS} == {job.name: deferred[job.name][2] for job in JOBS}
    assert done["webhooks"] >= 2


def test_a_checklist_version_is_announced_to_phones_once_when_it_takes_effect(app):
    from datetime import timedelta

    from foundation.base import utcnow
    from inspections.checklists import Definition, publish_template_version
    from sync.models import Change
    from tests import factories
    from webapp.jobs import run_job

    def changes_logged(template_id) -> int:
        query = sa.select(sa.func.count()).where(Change.entity == "template", Change.entity_id == str(template_id))
        return db.session.scalar(query.select_from(Change))

    with app.app_context():
        site = factories.site(db.session)
        template = factories.checklist(db.session, site=site)
        definition = Definition.model_validate(template.versions[0].definition)
        publish_template_version(
            db.session, template, definition, actor=None, effective_at=utcnow() - timedelta(minutes=1)
        )
        publish_template_version(
            db.session, template, definition, actor=None, effective_at=utcnow() + timedelta(hours=1)
        )
        db.session.commit()
        published = changes_logged(template.id)

        assert run_job("versions") == 1  # v2 took effect a minute ago; v3 is for later
        assert changes_logged(template.id) == published + 1
        assert run_job("versions") == 0  # told once


# SQLite's queue is in the worker's memory: a second worker would run every job twice.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_second_worker_on_sqlite_refuses_to_start(app, database_url):
    first = _start_worker(database_url)
    try:
        _wait_for(app, [first], lambda runs: "webhooks" in runs)
        second = _start_worker(database_url)
        _, errors = second.communicate(timeout=WAIT_S)
        assert second.returncode != 0
        assert "a worker already runs the jobs of" in errors and f"(process {first.pid})" in errors
        assert first.poll() is None  # the first goes on
    finally:
        _stop(first)
    before = _runs(app)["webhooks"].runs
    again = _start_worker(database_url)  # the lock went with the first worker
    try:
        _wait_for(app, [again], lambda runs: runs["webhooks"].runs > before)
    finally:
        _stop(again)
