"""The README's "Starting a real company" is a test: its shell block runs as written, in a copy
of the repository, on SQLite and on PostgreSQL; the app it serves answers, the administrator it
made signs in, and its job worker runs the scheduled jobs. (It once stopped on SQLite at
`flask db upgrade` for want of `instance/`, bound nowhere, and never started the worker.)"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "company-pass-1"
ADDRESS = ("127.0.0.1", 8000)  # as the README binds it


def company_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Starting a real company", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def _copy_of_the_repository(target: Path) -> Path:
    """The working tree as a newcomer has it after `make setup` (its .venv shared, not copied)."""
    skip = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "instance", "artifacts", "__pycache__", ".pytest_cache"
    )
    shutil.copytree(ROOT, target, ignore=skip, symlinks=True)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the README's commands stopped: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def _sign_in(base: str) -> str:
    """Sign in as the README's administrator the way the login form does; the page it lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "boss", "password": PASSWORD, "csrf_token": token}).encode()
    landed = opener.open(f"{base}/login", data=form)
    assert "/login" not in landed.url, "the administrator could not sign in"
    return landed.read().decode()


def _jobs_run(url: str, timeout_s: float = 60) -> set[str]:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                names = set(connection.scalars(sa.text("SELECT name FROM job_run WHERE last_ok")))
            if {"assignments", "escalation"} <= names:
                return names
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise AssertionError("the job worker the README starts ran no job")


def _postgres_database() -> str:
    server = os.environ.get("TEST_POSTGRES_URL") or pytest.fail("TEST_POSTGRES_URL is not set: run `make test`")
    name = f"readme_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_readmes_company_commands_run_as_written(tmp_path, backend):
    with socket.socket() as probe:
        assert probe.connect_ex(ADDRESS) != 0, "something already listens on 127.0.0.1:8000, where the README serves"
    repository = _copy_of_the_repository(tmp_path / "fieldcheck")
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FLASK_APP", "SECRET_KEY")}
    if backend == "postgresql":
        environment["DATABASE_URL"] = database = _postgres_database()
    else:
        database = f"sqlite:///{repository / 'instance' / 'fieldcheck.db'}"
    log = tmp_path / "output.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["bash", "-euc", company_block()],
            cwd=repository,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the worker and gunicorn, stopped together below
        )
    try:
        process.stdin.write(f"{PASSWORD}\n{PASSWORD}\n")
        process.stdin.close()
        base = f"http://{ADDRESS[0]}:{ADDRESS[1]}"
        _wait_for(f"{base}/healthz", process, log)
        _sign_in(base)
        assert {"assignments", "escalation", "webhooks"} <= _jobs_run(database)
        if backend == "sqlite":  # the copy's own database, not the repository's
            assert (repository / "instance" / "fieldcheck.db").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
