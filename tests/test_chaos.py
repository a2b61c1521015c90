"""The chaos harness (tests/chaos.py) in a short form: 20 phones (two per person) × 20 mutations
against two gunicorn servers sharing PostgreSQL and S3, with lost responses, cut requests,
resends, double sends, shuffled batches, photos put on one server and read from the other, a
server killed mid-run and a database refusing connections, while a manager works the same
tickets in the web console. `make chaos` runs it full size."""

import os
from pathlib import Path

import pytest

from tests.chaos import Settings, run_chaos


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.fail("TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL")
    return url


def test_every_record_arrives_exactly_once_whatever_the_network_and_server_do(postgres_url, tmp_path: Path):
    report = run_chaos(postgres_url, tmp_path, Settings(phones=20, mutations=20))
    # The chaos happened: otherwise a pass would prove nothing.
    assert report.fates.get("lost", 0) > 0 and report.fates.get("cut", 0) > 0, report.text()
    assert report.statuses.get("duplicate", 0) > 0 and report.statuses.get("push 503", 0) > 0, report.text()
    assert report.restart_s > 0, report.text()
    # And nothing was lost or doubled.
    assert report.made["inspection"] > 200 and report.made["comment"] > 0, report.text()
    assert report.missing == {"inspection": 0, "ticket": 0, "comment": 0}, report.text()
    assert report.extra == {"inspection": 0, "ticket": 0, "comment": 0}, report.text()
    assert report.outbox_left == 0 and not report.surprises, report.text()
    assert report.photos > 0 and report.photos_unreadable == 0, report.text()
    # The desk worked the same tickets meanwhile: its changes were saved or shown to be stale,
    # and every ticket's history follows on.
    assert report.desk.get("comment 303", 0) > 0, report.text()
    assert report.desk.get("assign 303", 0) + report.desk.get("move 303", 0) > 0, report.text()
    assert report.broken_histories == [], report.text()
