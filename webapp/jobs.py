"""Scheduled work, on procrastinate: escalation of overdue tickets, notices of missed rounds,
assignments the schedules make due (periodic cleaning too), webhook deliveries, pushes to phones, checklist
versions taking effect at their scheduled time, and pruning the engine's own finished jobs. No page view runs any of them.

On PostgreSQL every machine may run ``flask jobs worker``: the jobs live in the same database
(procrastinate's tables, made by the migrations), each periodic job is deferred once per
period whichever workers are up (procrastinate's periodic defers), a job runs on one worker at
a time (its lock) and a failed one is retried with backoff. On SQLite, the embedded default,
``make run`` starts one worker process beside the app (a second one refuses to start); its
queue is in memory, which loses nothing: every job here is periodic and idempotent, so the next
period does what a stopped worker did not.

Each run is noted in ``job_run`` (``foundation.jobs``) for the console: when, what it did, the
error and how many runs in a row failed."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import click
import procrastinate
import procrastinate.builtin_tasks
import procrastinate.testing
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from foundation.base import utcnow
from foundation.jobs import JobRun, record_run
from foundation.org import Site
from inspections.patrol_board import raise_missed_round_notices
from inspections.schedules import make_assignments_through, raise_day_check_notices, raise_due_check_notices
from inspections.today import local_day
from sync.changes import log_versions_taking_effect
from tickets.escalation import escalate, warn_assignees
from tickets.webhooks import AddressRules, deliver_due
from webapp.extensions import db
from webapp.web_push import push_job

log = logging.getLogger(__name__)


def _every_site(job: Callable[[Session, Site, object], int]) -> Callable[[Session, object], int]:
    return lambda session, now: sum(job(session, site, now) for site in session.scalars(sa.select(Site)))


@dataclass(frozen=True)
class Job:
    name: str
    cron: str  # procrastinate's: minute hour day month weekday [second]
    run: Callable[[Session, object], int]  # (session, now) → how many things it did
    late_after: timedelta  # no run for this long: the console says no worker is running it


@dataclass(frozen=True)
class JobStatus:
    job: Job
    run: JobRun | None
    late: bool


# The one list of scheduled work. Each run is idempotent: run twice, it does the work once.
FIVE_MINUTES_LATE = timedelta(minutes=15)
JOBS = (
    Job(
        "assignments",
        "*/5 * * * *",
        _every_site(
            lambda s, site, now: (
                make_assignments_through(s, site, local_day(site, now))
                + raise_due_check_notices(s, site, now)
                + raise_day_check_notices(s, site, now)
            )
        ),
        FIVE_MINUTES_LATE,
    ),
    Job("missed_rounds", "*/5 * * * *", _every_site(raise_missed_round_notices), FIVE_MINUTES_LATE),
    Job(
        "escalation",
        "*/5 * * * *",
        _every_site(lambda s, site, now: warn_assignees(s, site, now) + escalate(s, site, now)),
        FIVE_MINUTES_LATE,
    ),
    Job(
        "webhooks",
        "* * * * * */10",
        lambda session, now: deliver_due(session, now, AddressRules.from_settings(current_app.config)),
        timedelta(minutes=2),
    ),
    Job("versions", "* * * * *", lambda session, now: _announce_versions(session, now), timedelta(minutes=5)),
    Job("push", "* * * * * */10", push_job, timedelta(minutes=2)),
)
BY_NAME = {job.name: job for job in JOBS}


def _announce_versions(session: Session, now) -> int:
    """Checklist versions scheduled for a later time that took effect since the last run (a
    minute's overlap for clocks between machines; a change told twice costs a phone nothing)."""
    last = session.get(JobRun, "versions")
    if last and last.last_ok and last.last_started_at:
        since = last.last_started_at - timedelta(minutes=1)
    else:  # never run, or the last run failed (its changes rolled back): a day's worth again
        since = now - timedelta(days=1)
    return log_versions_taking_effect(session, since, now)


tasks = procrastinate.Blueprint()
_flask_app: Flask | None = None  # the app whose database the jobs work on (the worker's)


def run_job(name: str) -> int:
    """Run ``name`` now, in the current app context, and note the run. Raises what the job raised."""
    job = BY_NAME[name]
    started = utcnow()
    try:
        done = job.run(db.session, started)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        record_run(db.session, name, started, utcnow(), None, f"{type(error).__name__}: {error}")
        db.session.commit()
        log.exception("job %s failed", name)
        raise
    record_run(db.session, name, started, utcnow(), done)
    db.session.commit()
    return done


def statuses(session: Session, now) -> list[JobStatus]:
    """Each job with its last run, and whether it is overdue (for the console)."""
    runs = {run.name: run for run in session.scalars(sa.select(JobRun))}
    return [
        JobStatus(
            job,
            runs.get(job.name),
            job.name not in runs
            or runs[job.name].last_finished_at is None
            or now - runs[job.name].last_finished_at > job.late_after,
        )
        for job in JOBS
    ]


def _register(job: Job) -> None:
    def task(timestamp: int) -> int:
        with _flask_app.app_context():
            return run_job(job.name)

    task.__name__ = job.name
    registered = tasks.task(
        name=job.name,
        lock=job.name,  # one run at a time, whatever the number of workers
        queueing_lock=job.name,  # at most one waiting
        retry=procrastinate.RetryStrategy(max_attempts=3, exponential_wait=5),
    )(task)
    tasks.periodic(cron=job.cron, periodic_id=job.name)(registered)


for _job in JOBS:
    _register(_job)


@tasks.periodic(cron="17 3 * * *", periodic_id="prune")
@tasks.task(name="prune_finished_jobs", queueing_lock="prune", pass_context=True)
async def prune_finished_jobs(context, timestamp: int) -> None:
    """The engine's record of finished jobs, kept a week (a run every 10 s adds up)."""
    await procrastinate.builtin_tasks.remove_old_jobs(
        context, max_hours=24 * 7, remove_failed=True, remove_cancelled=True, remove_aborted=True
    )


@contextmanager
def sole_worker(database_url: str) -> Iterator[None]:
    """On SQLite, the only worker of its database: the queue is in this process's memory, so a
    second worker would run every job a second time. A lock on a file beside the database, held
    while the worker runs (the system lets go of it when the process ends, however it ends)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    with open(f"{url.database}.worker-lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise click.ClickException(
                f"a worker already runs the jobs of {url.database} (process {lock.read().strip() or '?'});"
                " on SQLite only one may"
            ) from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def engine(app: Flask) -> procrastinate.App:
    """The job engine for ``app``'s database: PostgreSQL itself, or memory beside SQLite."""
    global _flask_app
    _flask_app = app
    url = sa.make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "postgresql":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        connector = procrastinate.PsycopgConnector(conninfo=conninfo)
    else:
        connector = procrastinate.testing.InMemoryConnector()
    job_engine = procrastinate.App(connector=connector)
    job_engine.add_tasks_from(tasks, namespace="fieldcheck")
    return job_engine
