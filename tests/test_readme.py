"""The README's "Starting a real company" is a test: its shell block runs as written, in a copy
of the repository, on SQLite and on PostgreSQL; the app it serves answers, the administrator it
made signs in, and its job worker runs the scheduled jobs. (It once stopped on SQLite at
`flask db upgrade` for want of `instance/`, bound nowhere, and never started the worker.)"""

from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
import sqlalchemy as sa

from tests.readme_company import readme_company

PASSWORD = "company-pass-1"


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


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_readmes_company_commands_run_as_written(tmp_path, backend):
    with readme_company(tmp_path, backend, PASSWORD) as company:
        _sign_in(company.base)
        assert {"assignments", "escalation", "webhooks"} <= _jobs_run(company.database)
        if backend == "sqlite":  # the copy's own database, not the repository's
            assert (company.repository / "instance" / "fieldcheck.db").exists()
