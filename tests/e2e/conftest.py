"""Real headless Chromium, driven by Playwright, against the app served on a local port.

Chromium must start: if it cannot, every browser test errors (it never skips)."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.conftest import ARTIFACTS
from webapp.extensions import db
from webapp.jobs import JOBS, run_job

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


@pytest.fixture(scope="session")
def playwright():
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


class LiveServer:
    """The app on 127.0.0.1 in a thread. ``stop()`` makes the network really go away (for the
    page and its service worker alike); ``start()`` brings it back on the same port; ``close()``
    ends it for good."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = 0
        self.server = None
        self._requests = threading.Condition()
        self._running = []  # the paths of the requests in the app
        self._closed = False
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self._counted, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def close(self) -> None:
        """Stops for good and waits until no request holds a database connection. The server's
        request threads are not joined (a browser's keep-alive socket holds one open), and a
        request one of them starts after this is refused: closing the app's pool then closes
        every connection, instead of leaving one to the garbage collector in whatever test runs
        next."""
        self.stop()
        with self._requests:
            self._closed = True
            assert self._requests.wait_for(lambda: not self._running, timeout=10), f"still running: {self._running}"
        with self.app.app_context():  # a streamed download gives its connection back when read
            pool = db.engine.pool
            deadline = time.monotonic() + 10
            while pool.checkedout() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert pool.checkedout() == 0, "a request of the test server still holds a connection"

    def _counted(self, environ, start_response):
        path = environ["PATH_INFO"]
        with self._requests:
            if self._closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the test server has closed"]
            self._running.append(path)
        try:  # Flask has ended the request's app context (and session) when it returns
            return self.app(environ, start_response)
        finally:
            with self._requests:
                self._running.remove(path)
                self._requests.notify_all()


class Relay:
    """A TCP relay in front of a server the test did not start in-process (the README's
    gunicorn): ``stop()`` closes its port and every connection through it, so the network really
    goes away for the page and its service worker; ``start()`` opens it again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, args=(self.listener,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.thread.join()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def live_server(app, demo):
    # What a started job worker does first (webapp/jobs.py): each job's latest period, today's
    # checks made due among them (the demo was loaded at tests.helpers.NOW, the server runs now).
    with app.app_context():
        for job in JOBS:
            run_job(job.name)
    server = LiveServer(app)
    yield server
    server.close()


DESK = {"viewport": {"width": 1280, "height": 860}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


def _context(browser, desk: bool = False, **extra):
    """A phone (or, with ``desk``, a desk-sized screen) whose page errors are collected."""
    context = browser.new_context(**(DESK if desk else PHONE), **extra)
    context.errors = []
    context.on("weberror", lambda error: context.errors.append(str(error.error)))
    # A Content-Security-Policy refusal is only a console message: count it as an error too.
    context.on(
        "console",
        lambda message: context.errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return context


@pytest.fixture
def phone_context(browser):
    """A phone-sized browser context with service workers on; uncaught page errors fail the test."""
    context = _context(browser)
    yield context
    errors = context.errors
    context.close()
    assert errors == [], f"the pages threw: {errors}"


@pytest.fixture
def phone(phone_context):
    return phone_context.new_page()


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Saves the page for a person to look at, once per name and run, whichever worker gets there
    first: a test that runs on both databases and both photo stores shows the same page four
    times, and a full-page PNG at the phone's pixel ratio costs a good part of a second."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not path.exists() or path.stat().st_mtime < float(os.environ["FIELDCHECK_TESTS_STARTED"]):
        page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page, base: str, username: str, password: str = "demo1234") -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/today")


def log_out(page) -> None:
    page.click("footer form[data-logout] button")
    page.wait_for_url("**/login")


def wait_until(page, expression: str, arg=None, timeout_s: float = 30) -> None:
    """Until ``expression`` is true in the page. (Playwright's wait_for_function evaluates its
    predicate with eval inside the page, which the app's Content-Security-Policy forbids;
    page.evaluate goes through the DevTools protocol instead.)"""
    deadline = time.monotonic() + timeout_s
    while not _evaluate_across_navigation(page, expression, arg):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


def wait_for(page, condition, what: str, timeout_s: float = 30) -> None:
    """Until ``condition()`` is true on the test's side (what a route handler has seen): the
    page's events are handled while it waits."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        page.wait_for_timeout(100)


def _evaluate_across_navigation(page, expression: str, arg):
    """The page may be reloading (an update, a redirect): then the answer is "not yet"."""
    try:
        return page.evaluate(expression, arg)
    except PlaywrightError as error:
        if "Execution context was destroyed" in error.message or "navigation" in error.message:
            return False
        raise


# Counts the ends of sync runs (any tab's or the worker's: they tell every page on the "fieldcheck"
# channel), so that a test that asserts "nothing was sent" first waits for a run to have ended.
COUNT_SYNC_RUNS = """
window.syncRunsEnded = 0;
new BroadcastChannel("fieldcheck").addEventListener("message", (event) => {
  if (event.data.type === "sync-done" || event.data.type === "sync-failed") window.syncRunsEnded += 1;
});
"""


def count_sync_runs(context) -> None:
    """From the next page loaded in ``context`` on, ``window.syncRunsEnded`` counts sync runs."""
    context.add_init_script(COUNT_SYNC_RUNS)


def wait_for_sync_run(page, more_than: int = 0) -> None:
    wait_until(page, "(n) => window.syncRunsEnded > n", more_than)


def wait_for_draft(page, expression: str) -> None:
    """Until a draft on the phone (IndexedDB, this page's person) satisfies ``expression`` (of d)."""
    wait_until(page, f"fieldStore.all('drafts').then((drafts) => drafts.some((d) => {expression}))")


def sign(page) -> None:
    """A finger's zigzag on the checklist's signature pad, until the page says it is signed."""
    pad = page.locator("[data-signature] canvas")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 8):
        page.mouse.move(box["x"] + 20 + step * 30, box["y"] + box["height"] / 2 + (-1) ** step * 25)
    page.mouse.up()
    page.wait_for_selector("[data-signed]:not([hidden])")


def wait_until_offline_ready(page, timeout_s: float = 30) -> None:
    """The service worker controls the page and has kept every page the Today list names."""
    # A worker that cannot install (a shell file refused) is never ready: fail, do not hang.
    ready = page.evaluate(
        "Promise.race([navigator.serviceWorker.ready.then(() => true),"
        " new Promise((resolve) => setTimeout(() => resolve(false), 30000))])"
    )
    assert ready, "the service worker did not become ready within 30 s"
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        # A page that started loading while the first worker installed stays uncontrolled
        # (as in a real first visit); the next load is controlled.
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wanted = page.evaluate("JSON.parse(document.getElementById('offline-urls').textContent).length")
    deadline = time.monotonic() + timeout_s
    while True:
        kept = page.evaluate("""async () => {
            const cache = await caches.open(`pages-${document.body.dataset.userId}`);
            return (await cache.keys()).length;
        }""")
        if kept >= wanted:
            return
        assert time.monotonic() < deadline, f"only {kept} of {wanted} pages kept for offline use"
        page.wait_for_timeout(200)


def fill_restroom_check(page, photo: Path | None, fail: str | None = "odour") -> None:
    """Pass every item, fail one with a photo (unless ``fail`` is None), review, send."""
    page.wait_for_selector("form[data-checklist][data-ready=true]")
    for item in page.locator("fieldset[data-item]").all():
        item.locator("label.opt-pass").click()
    if fail:
        page.click(f"label[for='a-{fail}-fail']")
        page.set_input_files(f"#item-{fail} input[type=file]", str(photo))
        page.wait_for_selector(f"#item-{fail} .thumbs img")
    page.click(".actionbar button[value=review]")
    page.wait_for_selector("#client-summary:not([hidden])")
    page.click("#client-summary button[value=submit]")
    page.wait_for_url("**/today")


def outbox_statuses(page) -> list[str]:
    page.wait_for_selector("#outbox-list li")
    return page.eval_on_selector_all("#outbox-list li", "rows => rows.map(r => r.dataset.status)")


def phone_storage(page) -> dict:
    """Whose data the phone holds: the people its directory lists, the person databases, the
    kept page caches."""
    return page.evaluate("""async () => ({
        people: (await fieldStore.people()).map((p) => p.user_id).sort(),
        databases: (await indexedDB.databases()).map((d) => d.name).filter((n) => /^fieldcheck-\\d+$/.test(n)).sort(),
        pages: (await caches.keys()).filter((name) => name.startsWith("pages-")).sort(),
    })""")


class Gate:
    """WSGI middleware between the phone and the app: makes paths slow or refuses them (503), and
    notes every request and the id of every mutation pushed, as the server received them."""

    def __init__(self, app) -> None:
        self.app = app
        self.slow: dict[str, float] = {}  # path prefix -> seconds
        self.refused: set[str] = set()  # path prefixes answered 503
        self.pushed: list[str] = []
        self.asked: list[str] = []  # every request's method, path and query, in order
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        with self.lock:
            self.asked.append(f"{environ['REQUEST_METHOD']} {path}?{environ.get('QUERY_STRING', '')}")
        for prefix, seconds in list(self.slow.items()):
            if path.startswith(prefix):
                time.sleep(seconds)
        if any(path.startswith(prefix) for prefix in self.refused):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
            return [b"closed for the test"]
        if path == "/api/v1/sync/push" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            with self.lock:
                self.pushed += [m["id"] for m in json.loads(body).get("mutations", [])]
        return self.app(environ, start_response)


@pytest.fixture
def gate(app):
    wrapped = app.wsgi_app
    app.wsgi_app = Gate(wrapped)
    yield app.wsgi_app
    app.wsgi_app = wrapped


def count_rows(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def restroom_url(page) -> str:
    """The restroom check on a cleaner's Today."""
    return page.get_attribute("a.row:has-text('清洁标准：卫生间')", "href")


def go_offline(context, server) -> None:
    server.stop()  # the network is really gone, for the page and its service worker
    context.set_offline(True)


def go_online(context, server) -> None:
    server.start()
    context.set_offline(False)
