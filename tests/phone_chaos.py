"""Chaos on the phone side, in real Chromium.

Two cleaners share two phones (persistent browser profiles, so closing a browser is a real
restart). For N seeded random steps they fill checks with photos and send them, leave drafts,
reload, restart the browser, open a second tab, go offline and online, log out (keeping or
discarding what is unsent), hand the phone to the other person without logging out (the session
dropped, as an app restart does), while the server is made slow or stopped, a new build is
deployed, a manager takes a person's sign-in away (every phone token and session of theirs
revoked) and weeks pass (the phone's clock moves on: sent records leave it). Then the network heals and each person opens each phone. Checked against the database
and the phones:

- every check a person sent exists once, with its photo sent by that person;
- a check discarded at logout before the server had it may be missing, never doubled;
- every draft not sent is still on its phone for its person;
- the storage a page reads as its person never holds another person's records or drafts.

`make chaos` runs it longer; tests/test_phone_chaos.py runs a short seeded form on both databases.
A failure prints the seed and the action log: `python -m tests.phone_chaos --seed S --steps N`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError

from foundation.base import utcnow
from foundation.org import User
from foundation.photos import PhotoHolder
from foundation.sessions import end_everything
from inspections.records import Answer, AnswerPhoto, Inspection
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, Gate, LiveServer, wait_for_draft, wait_until
from tests.helpers import jpeg_bytes
from webapp.extensions import db

WEEK_S = 7 * 86400
PEOPLE = ("chenmei", "huangli")  # the cleaners of 柏彦大厦 in the demo
CHECK = "清洁标准：卫生间"  # filled and sent
DRAFT = "清洁标准：大堂及入口"  # started and left as a draft
ACTIONS = {  # action: weight
    "check": 6,
    "draft": 3,
    "reload": 2,
    "restart": 2,
    "tab": 1,
    "offline": 2,
    "online": 3,
    "slow": 1,
    "stop_server": 1,
    "start_server": 2,
    "logout_keep": 1,
    "logout_discard": 1,
    "switch": 2,
    "deploy": 1,
    "revoke": 1,
    "week": 1,
}


@dataclass
class Settings:
    steps: int = 120
    phones: int = 2
    seed: int = 15


@dataclass
class Phone:
    name: str
    profile: Path
    context: object = None
    page: object = None
    person: str | None = None
    offline: bool = False
    weeks: int = 0  # how far the phone's clock is ahead of the world's


@dataclass
class Report:
    settings: Settings
    actions: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    sent: int = 0
    drafts: int = 0
    violations: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(
            [
                f"seed {self.settings.seed}, {self.settings.steps} steps, {self.settings.phones} phones",
                f"actions: {dict(self.actions)}; skipped (no network, nobody signed in): {dict(self.skipped)}",
                f"checks sent: {self.sent}; drafts left: {self.drafts}",
                f"violations: {len(self.violations)}",
                *[f"  ! {v}" for v in self.violations],
                "log:",
                *[f"  {line}" for line in self.log],
            ]
        )


class Skip(Exception):
    """The action cannot be taken now (no network to log in, nobody signed in)."""


class PhoneChaos:
    def __init__(self, app, server: LiveServer, gate: Gate, playwright, folder: Path, settings: Settings) -> None:
        self.app, self.server, self.gate, self.playwright = app, server, gate, playwright
        self.folder = folder
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.report = Report(settings)
        self.server_up = True
        self.phones = [Phone(f"phone{n + 1}", folder / f"phone{n + 1}") for n in range(settings.phones)]
        self.sent: dict[str, str] = {}  # mark -> the person who sent it
        self.sent_from: dict[str, str] = {}  # mark -> phone
        self.may_be_missing: set[str] = set()  # discarded at logout before the server had it
        self.drafts: dict[tuple[str, str], str] = {}  # (phone, person) -> the draft's mark
        self.step = 0
        self.slow_until = -1

    # --- the phones ---------------------------------------------------------------------------
    def launch(self, phone: Phone) -> None:
        phone.context = self.playwright.chromium.launch_persistent_context(
            str(phone.profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **PHONE
        )
        phone.context.set_default_timeout(20000)
        phone.context.set_offline(phone.offline)
        if phone.weeks:
            phone.context.clock.install(time=time.time() + phone.weeks * WEEK_S)
        phone.page = phone.context.pages[0] if phone.context.pages else phone.context.new_page()

    def url(self, path: str) -> str:
        return self.server.url + path

    def online(self, phone: Phone) -> bool:
        return self.server_up and not phone.offline

    def goto(self, phone: Phone, path: str) -> None:
        phone.page.goto(self.url(path), wait_until="load")
        self.take_update(phone)

    def take_update(self, phone: Phone) -> None:
        """A person taps "reload" when the app says a new version is ready."""
        banner = phone.page.locator("#update-ready:not([hidden]) button")
        if banner.count():
            with phone.page.expect_navigation():  # the page reloads on the new build
                banner.click()

    def drop_session(self, phone: Phone) -> None:
        """The app restarts and the browser has lost its session cookie (as after a crash). The
        browser is closed first: a response still in flight would bring the cookie back."""
        phone.context.close()
        self.launch(phone)
        phone.context.clear_cookies()
        phone.person = None

    def log_in(self, phone: Phone, person: str) -> None:
        if not self.online(phone):
            raise Skip("no network to log in")
        self.goto(phone, "/login")
        if phone.page.url.endswith("/today"):  # still signed in as someone
            self.drop_session(phone)
            self.goto(phone, "/login")
        phone.page.fill("#username", person)
        phone.page.fill("#password", "demo1234")
        phone.page.click("button[type=submit]")
        phone.page.wait_for_url("**/today")
        phone.person = person
        self.check_privacy(phone)

    def signed_in(self, phone: Phone) -> str:
        if phone.person is None:
            self.log_in(phone, self.rng.choice(PEOPLE))
        return phone.person

    def open_today(self, phone: Phone) -> None:
        self.goto(phone, "/today")
        if "/login" in phone.page.url:  # the session ended (restart without it, a logout elsewhere)
            phone.person = None
            raise Skip("signed out")

    def find_places(self) -> dict[str, str]:
        """The checklist pages of the two places, as a cleaner's Today links them."""
        import re

        from tests.conftest import login

        client = self.app.test_client()
        login(client, PEOPLE[0], locale="zh")
        html = client.get("/today").get_data(as_text=True)
        return {
            title: re.search(rf'<a class="row[^"]*" href="([^"]+)">\s*<span class="row-main">\s*<strong>{title}', html)
            .group(1)
            .replace("&amp;", "&")
            .split("&assignment=")[0]  # a place anyone may check, not her task
            for title in (CHECK, DRAFT)
        }

    def place_url(self, phone: Phone, title: str) -> str:
        return self.places[title]

    # --- the actions --------------------------------------------------------------------------
    def do_check(self, phone: Phone) -> None:
        person = self.signed_in(phone)
        self.open_today(phone)
        self.goto(phone, self.place_url(phone, CHECK))
        page = phone.page
        page.wait_for_selector("form[data-checklist][data-ready=true]")
        mark = f"chaos-{self.settings.seed}-{self.step}-{person}"
        for item in page.locator("fieldset[data-item]").all():
            item.locator("label.opt-pass").click()
        page.click("label[for='a-odour-fail']")
        photo = self.folder / f"{mark}.jpg"
        photo.write_bytes(jpeg_bytes((800, 600), color=f"#{self.rng.randrange(0x1000000):06x}"))
        page.set_input_files("#item-odour input[type=file]", str(photo))
        page.wait_for_selector("#item-odour .thumbs img")
        self.open_note(page.locator("#item-odour"))
        page.fill("#item-odour textarea[name=note-odour]", mark)
        page.click(".actionbar button[value=review]")
        page.wait_for_selector("#client-summary:not([hidden])")
        page.click("#client-summary button[value=submit]")
        # Sent the moment it is in the outbox: from here on the phone owes it to the server.
        self.sent[mark], self.sent_from[mark] = person, phone.name
        self.report.sent += 1
        page.wait_for_url("**/today", timeout=30000)
        self.report.log.append(f"    {mark}")

    def do_draft(self, phone: Phone) -> None:
        person = self.signed_in(phone)
        self.open_today(phone)
        self.goto(phone, self.place_url(phone, DRAFT))
        page = phone.page
        page.wait_for_selector("form[data-checklist][data-ready=true]")
        mark = f"draft-{self.settings.seed}-{self.step}-{person}"
        box = page.locator("fieldset[data-item]").first
        self.open_note(box)
        box.locator("textarea[name^=note-]").fill(mark)
        wait_for_draft(page, f"Object.values(d.answers).some((a) => a.note === {mark!r})")  # saved as typed
        self.drafts[(phone.name, person)] = mark
        self.report.log.append(f"    {mark}")

    @staticmethod
    def open_note(item) -> None:
        """Open the item's note (a restored draft shows it open already)."""
        if item.locator("details.note").get_attribute("open") is None:
            item.locator("details.note summary").click()

    def do_reload(self, phone: Phone) -> None:
        phone.page.reload(wait_until="load")

    def do_restart(self, phone: Phone) -> None:
        phone.context.close()
        self.launch(phone)
        self.open_today(phone)

    def do_tab(self, phone: Phone) -> None:
        tab = phone.context.new_page()
        try:
            tab.goto(self.url("/today"), wait_until="networkidle")  # its scripts ran their first requests
        finally:
            tab.close()

    def do_offline(self, phone: Phone) -> None:
        if phone.person is None:
            raise Skip("nobody signed in to work offline")
        phone.offline = True
        phone.context.set_offline(True)

    def do_online(self, phone: Phone) -> None:
        phone.offline = False
        phone.context.set_offline(False)

    def do_slow(self, phone: Phone) -> None:
        self.gate.slow["/"] = self.rng.uniform(1, 3)
        self.slow_until = self.step + self.rng.randint(2, 5)

    def do_stop_server(self, phone: Phone) -> None:
        if self.server_up:
            self.server.stop()
            self.server_up = False

    def do_start_server(self, phone: Phone) -> None:
        if not self.server_up:
            self.server.start()
            self.server_up = True

    def logout(self, phone: Phone, keep: bool) -> None:
        person = phone.person
        if person is None:
            raise Skip("nobody signed in")
        self.open_today(phone)
        page = phone.page
        page.once("dialog", lambda dialog: dialog.accept())  # "cannot be recovered": yes
        page.click("footer form[data-logout] button")
        # Either the question (records unsent) or the login page.
        wait_until(
            page, "document.querySelector('dialog#logout-unsent[open]') !== null || location.pathname === '/login'"
        )
        if page.locator("dialog#logout-unsent[open]").count():
            if not keep:  # what the server does not have yet may now be missing, never doubled
                received = self.received_marks()
                self.may_be_missing |= {
                    m for m, who in self.sent.items() if who == person and self.sent_from[m] == phone.name
                } - received
            page.click(f"dialog#logout-unsent button[value={'keep' if keep else 'discard'}]")
            if not keep:
                self.drafts.pop((phone.name, person), None)
        deadline = time.monotonic() + 20
        while "/login" not in page.url and "chrome-error" not in page.url:
            assert time.monotonic() < deadline, "logout did not reach the login page"
            page.wait_for_timeout(100)
        phone.person = None

    def do_logout_keep(self, phone: Phone) -> None:
        self.logout(phone, keep=True)

    def do_logout_discard(self, phone: Phone) -> None:
        self.logout(phone, keep=False)

    def do_switch(self, phone: Phone) -> None:
        """The browser drops the session (an app restart) and the other person logs in."""
        if not self.online(phone):
            raise Skip("no network to log in")
        others = [p for p in PEOPLE if p != phone.person]
        self.drop_session(phone)
        self.log_in(phone, self.rng.choice(others))

    def do_revoke(self, phone: Phone) -> None:
        """A manager takes a person's sign-in away (a lost phone reported, a password reset):
        every device token and web session of theirs ends. Their waiting work waits for them."""
        person = self.rng.choice(PEOPLE)
        with self.app.app_context():
            end_everything(db.session, db.session.scalar(sa.select(User).where(User.username == person)), now=utcnow())
            db.session.commit()
        self.report.log.append(f"    {person}'s sign-in taken away")

    def do_week(self, phone: Phone) -> None:
        """A week passes on this phone: its clock moves on (sent records pass the retention window)."""
        phone.weeks += 1
        if phone.weeks == 1:
            phone.context.clock.install(time=time.time() + WEEK_S)
        else:
            phone.context.clock.set_system_time(time.time() + phone.weeks * WEEK_S)

    def do_deploy(self, phone: Phone) -> None:
        self.app.extensions["asset_build"] = f"chaos{self.settings.seed}x{self.step}"

    def shoot(self, phone: Phone, why: str) -> str:
        from tests.conftest import ARTIFACTS

        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"phone-chaos-{self.settings.seed}-{phone.name}-{why}.png"
        try:
            phone.page.screenshot(path=str(path))
        except PlaywrightError:
            return "(no screenshot)"
        return str(path)

    # --- the checks ---------------------------------------------------------------------------
    def check_privacy(self, phone: Phone) -> None:
        """What the page reads as its person's storage holds nothing of anyone else."""
        if phone.person is None:
            return
        try:
            held = phone.page.evaluate("""async () => {
                const records = await fieldStore.all("outbox");
                const drafts = await fieldStore.all("drafts");
                return JSON.stringify([records, drafts]);
            }""")
        except PlaywrightError:
            return  # the page is navigating; the next step looks again
        for other in PEOPLE:
            if other != phone.person and f"-{other}" in held:
                self.report.violations.append(
                    f"step {self.step}: {phone.person}'s page on {phone.name} holds {other}'s records or drafts"
                )

    def received_marks(self) -> set[str]:
        with self.app.app_context():
            return set(db.session.scalars(sa.select(Answer.note).where(Answer.note.like("chaos-%"))))

    def heal_and_verify(self) -> None:
        self.report.log.append("heal: server up, every phone online, each person opens each phone")
        self.gate.slow.clear()
        self.do_start_server(self.phones[0])
        for phone in self.phones:
            self.do_online(phone)
        for phone in self.phones:
            for person in PEOPLE:
                self.drop_session(phone)
                self.log_in(phone, person)
                self.open_today(phone)
                draft = self.drafts.get((phone.name, person))
                if draft:
                    self.goto(phone, self.place_url(phone, DRAFT))
                    phone.page.wait_for_selector("form[data-checklist][data-ready=true]")
                    found = phone.page.locator("fieldset[data-item]").first.locator("textarea[name^=note-]")
                    if found.input_value() != draft:
                        self.report.violations.append(
                            f"{person}'s draft {draft} on {phone.name} is gone (found {found.input_value()!r})"
                        )
                    self.open_today(phone)
        for phone in self.phones:
            self.wait_until_sent(phone)
        self.verify_server()

    def wait_until_sent(self, phone: Phone) -> None:
        deadline = time.monotonic() + 60
        while True:
            phone.page.evaluate("fieldSync.syncNow()")
            waiting = phone.page.evaluate("""async () => {
                let n = 0;
                for (const row of await fieldStore.people()) {
                    const records = await fieldStore.person(row.user_id).all("outbox");
                    n += records.filter((r) => r.status === "waiting" || r.status === "awaiting_photos").length;
                }
                return n;
            }""")
            if not waiting:
                return
            if time.monotonic() > deadline:
                self.report.violations.append(f"{phone.name} still holds {waiting} records it cannot send")
                return
            phone.page.wait_for_timeout(500)

    def verify_server(self) -> None:
        with self.app.app_context():
            rows = db.session.execute(
                sa.select(Answer.note, User.username, AnswerPhoto.photo_sha256, Inspection.inspector_id)
                .join(Inspection, Inspection.id == Answer.inspection_id)
                .join(User, User.id == Inspection.inspector_id)
                .outerjoin(AnswerPhoto, AnswerPhoto.answer_id == Answer.id)
                .where(Answer.note.like("chaos-%"))
            ).all()
            times = Counter(note for note, *_ in rows)
            for note, username, sha, inspector_id in rows:
                if self.sent.get(note) != username:
                    self.report.violations.append(f"{note} arrived as {username}'s, sent by {self.sent.get(note)}")
                if sha is None or db.session.get(PhotoHolder, (sha, inspector_id)) is None:
                    self.report.violations.append(f"{note} arrived without its photo")
        for mark in self.sent:
            if times[mark] > 1:
                self.report.violations.append(f"{mark} arrived {times[mark]} times")
            elif times[mark] == 0 and mark not in self.may_be_missing:
                self.report.violations.append(f"{mark} was sent and never arrived")
        self.report.drafts = len(self.drafts)

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> Report:
        self.places = self.find_places()
        for phone in self.phones:
            self.launch(phone)
        try:
            names, weights = zip(*ACTIONS.items())
            for self.step in range(self.settings.steps):
                if self.step == self.slow_until:
                    self.gate.slow.clear()
                action = self.rng.choices(names, weights)[0]
                phone = self.rng.choice(self.phones)
                self.report.log.append(f"{self.step:3} {phone.name} {phone.person or '-'}: {action}")
                try:
                    getattr(self, f"do_{action}")(phone)
                    self.report.actions[action] += 1
                except Skip as skip:
                    self.report.skipped[action] += 1
                    self.report.log.append(f"    skipped: {skip}")
                except PlaywrightError as error:
                    # The phone could not finish it (no page offline, a timeout): a person would try
                    # again later. What it already wrote must still hold up at the end.
                    self.report.log.append(f"    interrupted: {str(error).splitlines()[0][:160]}")
                    self.report.log.append(f"    at {phone.page.url}: {self.shoot(phone, f'step{self.step}')}")
                self.check_privacy(phone)
            try:
                self.heal_and_verify()
            except (PlaywrightError, AssertionError) as error:
                shots = [self.shoot(phone, "heal") for phone in self.phones]
                self.report.violations.append(f"the phones could not be opened at the end: {error}; see {shots}")
        finally:
            for phone in self.phones:
                phone.context.close()
            if not self.server_up:
                self.server.start()
        return self.report


def main() -> int:
    import logging

    from playwright.sync_api import sync_playwright

    from bench.world import build_app, fresh_database_url
    from demo.world import load_demo
    from foundation.base import utcnow

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=Settings.steps)
    parser.add_argument("--phones", type=int, default=Settings.phones)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        import os

        app = build_app(fresh_database_url(args.database, os.environ.get("TEST_POSTGRES_URL"), folder), folder)
        with app.app_context():
            load_demo(db.session, utcnow())
            db.session.commit()
        gate = Gate(app.wsgi_app)
        app.wsgi_app = gate
        server = LiveServer(app)
        try:
            with sync_playwright() as playwright:
                settings = Settings(steps=args.steps, phones=args.phones, seed=args.seed)
                report = PhoneChaos(app, server, gate, playwright, folder, settings).run()
        finally:
            server.close()
    print(report.text())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
