"""The phone chaos harness (tests/phone_chaos.py) in a short seeded form: two cleaners on two
phones, 40 random steps, then every invariant. `make chaos` runs it longer."""

from tests.phone_chaos import PhoneChaos, Settings


def test_the_phones_lose_nothing_and_show_no_one_anothers_work(app, live_server, gate, playwright, tmp_path):
    report = PhoneChaos(app, live_server, gate, playwright, tmp_path, Settings(steps=40, seed=15)).run()
    # The chaos happened: otherwise a pass would prove nothing.
    assert report.sent >= 3 and sum(report.actions.values()) >= 25, report.text()
    assert report.violations == [], report.text()
