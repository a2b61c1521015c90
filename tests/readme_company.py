"""The README's "Starting a real company" block, run as written in a copy of the repository:
used by `tests/test_readme.py` (the commands themselves) and by the first week's browser test
(a company's life on the app those commands serve)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = ("127.0.0.1", 8000)  # as the README binds it


@dataclass(frozen=True)
class Company:
    base: str  # where the README's gunicorn answers
    database: str  # its database's URL
    repository: Path  # the copy the commands ran in
    log: Path  # what they printed


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


def _postgres_database() -> str:
    server = os.environ.get("TEST_POSTGRES_URL") or pytest.fail("TEST_POSTGRES_URL is not set: run `make test`")
    name = f"readme_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


@contextmanager
def readme_company(tmp_path: Path, backend: str, password: str) -> Iterator[Company]:
    """Runs the block (answering `create-admin`'s two password prompts with ``password``) until
    its app answers; stops the app and the job worker together afterwards. One at a time on the
    machine (a file lock): the README serves on a fixed port, and the suite's workers run side by
    side."""
    with _PORT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        with _readme_company(tmp_path, backend, password) as company:
            yield company


_PORT_LOCK = Path(tempfile.gettempdir()) / "fieldcheck-readme-port-8000.lock"


@contextmanager
def _readme_company(tmp_path: Path, backend: str, password: str) -> Iterator[Company]:
    assert not _listening(ADDRESS), "something already listens on 127.0.0.1:8000, where the README serves"
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
        process.stdin.write(f"{password}\n{password}\n")
        process.stdin.close()
        base = f"http://{ADDRESS[0]}:{ADDRESS[1]}"
        _wait_for(f"{base}/healthz", process, log)
        yield Company(base, database, repository, log)
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Stops every process the block started (bash, the job worker, gunicorn and its workers) and
    waits until they have gone and the port is free: the next test binds it again."""
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _group_alive(process.pid) and time.monotonic() < deadline:
        process.poll()  # reaps bash, the group's leader, once it has ended
        time.sleep(0.1)
    if _group_alive(process.pid):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + timeout_s
    while _listening(ADDRESS):
        assert time.monotonic() < deadline, f"{ADDRESS} is still bound {timeout_s} s after the README's app stopped"
        time.sleep(0.1)


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(address) == 0


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
