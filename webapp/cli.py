"""Administration from the shell, so a deployment can be scripted. Each command calls a service."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, current_app
from sqlalchemy import select, text

from demo.history import generate_history, has_history
from demo.world import DEMO_PASSWORD, clear_all, is_loaded, load_demo
from foundation.base import utcnow
from foundation.org import Department, Site, User
from foundation.people import PersonRefused, create_user, reset_password
from foundation.roles import Role
from foundation.web_push import make_keys, public_key
from inspections.library import start_company
from webapp import jobs
from webapp.config import SETTINGS
from webapp.extensions import db

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name people see.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--site", "site_codes", multiple=True, required=True, help="Site code; repeat for several.")
@click.option("--department", default=None, help="Department code, e.g. cleaning.")
@click.password_option()
def create_user_command(username, display_name, role, site_codes, department, password):
    """Create a person who can log in."""
    sites = [db.session.scalar(select(Site).where(Site.code == code)) for code in site_codes]
    if None in sites:
        raise click.UsageError(f"unknown site code among {', '.join(site_codes)}")
    dept = db.session.scalar(select(Department).where(Department.code == department)) if department else None
    if department and dept is None:
        raise click.UsageError(f"unknown department {department}")
    try:
        create_user(
            db.session,
            username=username,
            display_name=display_name,
            password=password,
            role=Role(role),
            sites=sites,
            department=dept,
        )
    except PersonRefused as refused:
        raise click.UsageError(str(refused)) from None
    db.session.commit()
    click.echo(f"created {username} ({role})")


@bp.cli.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", default="系统管理员", show_default=True, help="The name people see.")
@click.password_option()
def create_admin_command(username, display_name, password):
    """Start a company: its first administrator, the departments and the standard checklists."""
    try:
        start_company(db.session, username=username, display_name=display_name, password=password)
    except PersonRefused as refused:
        raise click.UsageError(str(refused)) from None
    db.session.commit()
    click.echo(f"created administrator {username}; log in and add your first site under Manage → Sites and places")


@bp.cli.command("reset-password")
@click.argument("username")
@click.password_option()
def reset_password_command(username, password):
    """Set a new password for a person."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"no user {username}")
    try:
        reset_password(db.session, user, password)
    except PersonRefused as refused:
        raise click.UsageError(str(refused)) from None
    db.session.commit()
    click.echo(f"password of {username} reset")


@bp.cli.group("demo")
def demo():
    """The demo data."""


@demo.command("load")
def demo_load():
    """Load the demo data into an empty database (does nothing if data is there)."""
    if is_loaded(db.session):
        click.echo("the database already has data; 'flask demo reset' replaces it")
        return
    load_demo(db.session, utcnow())
    db.session.commit()
    click.echo(f"demo data loaded; every demo account's password is {DEMO_PASSWORD}")


@demo.command("reset")
@click.confirmation_option(prompt="Delete every record and load the demo data?")
def demo_reset():
    """Delete everything and load the demo data afresh."""
    clear_all(db.session)
    load_demo(db.session, utcnow())
    db.session.commit()
    click.echo("demo data reloaded")


@demo.command("history")
@click.option("--tickets", default=3_000, show_default=True, help="Tickets to spread over the past two years.")
@click.option("--inspections", default=6_000, show_default=True, help="Inspections to spread likewise.")
def demo_history(tickets, inspections):
    """Add made-up history to the demo, so the console has weeks to show (once)."""
    if db.session.scalar(select(Site.id).where(Site.code == "BY")) is None:
        raise click.ClickException("the demo is not loaded here ('flask demo load'); history is made up for it only")
    if has_history(db.session):
        click.echo("history is there already")
        return
    generate_history(db.session, tickets=tickets, inspections=inspections, now=utcnow())
    db.session.commit()
    # Fresh planner statistics after a bulk load (PostgreSQL's autovacuum would get there later;
    # SQLite never would): without them SQLite may walk the wrong index of a large table.
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    click.echo(f"added {tickets:,} tickets and {inspections:,} inspections of history")


@bp.cli.command("config")
def config_command():
    """Print the effective configuration (secrets masked)."""
    for name in SETTINGS:
        value = current_app.config[name]
        click.echo(f"{name}={'***' if name == 'SECRET_KEY' else value}")


@bp.cli.group("jobs")
def jobs_group():
    """Scheduled work (webapp/jobs.py)."""


@jobs_group.command("worker")
def jobs_worker():
    """Run the scheduled jobs until stopped (Ctrl-C or SIGTERM). On PostgreSQL run one on as many
    machines as you like; on SQLite exactly one runs (a second one refuses to start)."""
    with jobs.sole_worker(current_app.config["DATABASE_URL"]):
        jobs.engine(current_app._get_current_object()).run_worker(install_signal_handlers=True)


@jobs_group.command("run")
@click.argument("name", type=click.Choice([job.name for job in jobs.JOBS]))
def jobs_run(name):
    """Run one job now, here (what the worker does on schedule)."""
    click.echo(f"{name}: {jobs.run_job(name)} done")


@bp.cli.group("push")
def push_group():
    """Web Push to the phones (foundation/web_push.py)."""


@push_group.command("keys")
def push_keys():
    """Make the server's VAPID key pair if there is none (setup), and show its public key."""
    path = Path(current_app.config["VAPID_KEY_FILE"])
    made = not path.exists()
    make_keys(path)
    click.echo(f"{'made' if made else 'kept'} {path}")
    click.echo(f"public key: {public_key(path)}")
