"""The field app as a phone gets it, measured in Chromium, and the photo path on the server.

weight: every byte the server sends while a cleaner logs in on a new phone and the app makes
itself ready for offline use (counted by a WSGI wrapper around the app, by content type, raw and
as gzip -6 would send them), then what the checklist page uses when reloaded offline (from the
phone's own cache: the Resource Timing of the page).
render: first contentful paint of the checklist page on an emulated slow 4G network (150 ms RTT,
1.6 Mbit/s down, 750 kbit/s up) with a cold cache, against a trivial document (/healthz) on the
same network; and of the same page reloaded offline from the service worker's cache.
size: first contentful paint of a checklist of 200 items against one of 20, opened on a phone
with its CPU slowed 4x (Chromium's own throttling), cold, logged in.
photos: the server's ingest of a phone photo (PUT /api/v1/photos/<sha256>, in-process: hash,
verify, decode, display and thumbnail copies, three files, a row) against Pillow's bare decode
and encode of the same file, in the same run.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import random
import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageDraw
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from bench.world import build_app, fresh_database_url, populate
from demo.world import load_demo
from foundation.base import utcnow
from foundation.org import Location, Site
from inspections.checklists import ChecklistTemplate, Definition, TemplateKind, publish_template_version
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, LiveServer, log_in, wait_until_offline_ready
from webapp.extensions import db

SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
KINDS = {"text/html": "html", "text/css": "css", "text/javascript": "js", "application/javascript": "js"}


class ByteCounter:
    """WSGI middleware: what the server sent, per path, with its content type."""

    def __init__(self, app) -> None:
        self.app = app
        self.sent: list[tuple[str, str, bytes]] = []
        self.header_bytes: list[int] = []  # the status line and headers of each, as HTTP/1.1 sends them
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["type"] = {k.lower(): v for k, v in headers}.get("content-type", "").split(";")[0]
            seen["head"] = len(f"HTTP/1.1 {status}\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers) + 2
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        with self.lock:
            self.sent.append((environ["PATH_INFO"], seen.get("type", ""), body))
            self.header_bytes.append(seen.get("head", 0))
        return [body]


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def _weigh(sent: list[tuple[str, str, bytes]]) -> dict:
    totals = defaultdict(lambda: {"raw": 0, "gz": 0, "n": 0})
    unique: dict[str, tuple[str, bytes]] = {}
    for path, content_type, body in sent:
        kind = KINDS.get(content_type, "other")
        totals[kind]["raw"] += len(body)
        totals[kind]["gz"] += _gzip_size(body)
        totals[kind]["n"] += 1
        if kind in ("css", "js"):
            unique[path] = (kind, body)
    assets = {
        "raw": sum(len(b) for _, b in unique.values()),
        "gz": sum(_gzip_size(b) for _, b in unique.values()),
        "files": len(unique),
    }
    return {"by_kind": dict(totals), "css_js_unique": assets}


def _warm_responses(sent, pages: list[str], heads: list[int] | None = None) -> list:
    wanted = {urlsplit(u).path for u in pages} - {"/today"}
    heads = heads or [0] * len(sent)
    return [(path, body, head) for (path, _type, body), head in zip(sent, heads) if path in wanted]


def _warm_bytes(sent, pages: list[str], heads: list[int]) -> dict:
    """The pages the worker keeps (not Today's own navigation): bodies raw and gzip, headers."""
    responses = _warm_responses(sent, pages, heads)
    return {
        "n": len(responses),
        "raw": sum(len(body) for _, body, _ in responses),
        "gz": sum(_gzip_size(body) for _, body, _ in responses if body),
        "headers": sum(head for _, _, head in responses),
    }


def _first_paint(page) -> float:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fcp = page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0")
        if fcp:
            return fcp
        page.wait_for_timeout(50)
    raise AssertionError("no first contentful paint within 30 s")


def _offline_resources(page) -> dict:
    """What the reloaded page used, by kind: bytes decoded, bytes that crossed the network."""
    entries = page.evaluate("""() => [...performance.getEntriesByType('navigation'),
                                     ...performance.getEntriesByType('resource')]
        .map(e => ({name: e.name, type: e.initiatorType, size: e.decodedBodySize, transfer: e.transferSize}))""")
    used = defaultdict(lambda: {"decoded": 0, "transferred": 0})
    for e in entries:
        kind = (
            "html"
            if e["type"] == "navigation"
            else "css"
            if e["name"].endswith(".css") or ".css?" in e["name"]
            else "js"
            if e["name"].endswith(".js") or ".js?" in e["name"]
            else "other"
        )
        used[kind]["decoded"] += e["size"]
        used[kind]["transferred"] += e["transfer"]
    return dict(used)


def bench_field(folder: Path, runs: int = 5) -> dict:
    app = build_app(fresh_database_url("sqlite", None, folder), folder)
    with app.app_context():
        load_demo(db.session, utcnow())
        db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    counter = ByteCounter(app.wsgi_app)
    app.wsgi_app = counter
    server = LiveServer(app)
    result: dict = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            # 1. A new phone: log in, the app makes itself ready offline.
            context = browser.new_context(**PHONE)
            page = context.new_page()
            log_in(page, server.url, "chenmei")
            wait_until_offline_ready(page)
            checklist = server.url + page.get_attribute("a.row:has-text('清洁标准：卫生间')", "href")
            result["first_load"] = _weigh(counter.sent)
            cookies = context.cookies()

            # 1b. Today opened again later, nothing changed: the worker asks for every kept page
            # with its validator. What it costs against the first time the pages were fetched.
            pages = [u for u in json.loads(page.inner_text("#offline-urls")) if not u.startswith("/static/")]
            first_warm = _warm_bytes(counter.sent, pages, counter.header_bytes)
            page.wait_for_timeout(61_000)  # the worker asks at most once a minute for the same list
            mark = len(counter.sent)
            page.goto(server.url + "/today")
            deadline = time.monotonic() + 60
            while len(_warm_responses(counter.sent[mark:], pages)) < len(pages) and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            second_warm = _warm_bytes(counter.sent[mark:], pages, counter.header_bytes[mark:])
            result["rewarm"] = {"pages": len(pages), "first": first_warm, "second": second_warm}

            # 2. Offline reloads of the checklist page, from the phone's cache.
            page.goto(checklist)
            page.wait_for_selector("form[data-checklist][data-ready=true]")
            server.stop()
            context.set_offline(True)
            offline = []
            for _ in range(runs):
                page.reload()
                page.wait_for_selector("form[data-checklist]")
                offline.append(_first_paint(page))
            result["offline_reload"] = {"fcp_ms": statistics.median(offline), "used": _offline_resources(page)}
            context.close()
            server.start()

            # 3. Slow 4G, cold cache, logged in: the checklist page and the trivial document.
            def cold_fcp(url: str) -> float:
                cold = browser.new_context(**PHONE, service_workers="block")
                cold.add_cookies(cookies)
                tab = cold.new_page()
                cdp = cold.new_cdp_session(tab)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                cdp.send("Network.emulateNetworkConditions", SLOW_4G)
                tab.goto(url, wait_until="load")
                fcp = _first_paint(tab)
                cold.close()
                return fcp

            result["slow_4g"] = {
                "checklist_ms": statistics.median(cold_fcp(checklist) for _ in range(runs)),
                "trivial_ms": statistics.median(cold_fcp(server.url + "/healthz") for _ in range(runs)),
            }

            # 4. A long checklist on a slow phone: 200 items against 20, CPU 4x slower. Made only
            # now, so that the pages measured above are the demo's.
            with app.app_context():
                sized = {n: _checklist_of(n).id for n in SIZES}
                restroom = db.session.scalar(
                    select(Location.id).join(Site).where(Site.code == "BY", Location.area_type == "restroom").limit(1)
                )
                db.session.commit()

            def slow_cpu_fcp(url: str) -> float:
                cold = browser.new_context(**PHONE, service_workers="block")
                cold.add_cookies(cookies)
                tab = cold.new_page()
                cdp = cold.new_cdp_session(tab)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
                tab.goto(url, wait_until="load")
                fcp = _first_paint(tab)
                tab.wait_for_selector("form[data-checklist][data-ready=true]")
                cold.close()
                return fcp

            result["long_checklist"] = {
                n: statistics.median(
                    slow_cpu_fcp(f"{server.url}/checklists/{sized[n]}?location={restroom}") for _ in range(runs)
                )
                for n in SIZES
            }
            browser.close()
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()
    result["slow_4g"]["ratio"] = result["slow_4g"]["checklist_ms"] / result["slow_4g"]["trivial_ms"]
    return result


SIZES = (20, 200)
CPU_SLOWDOWN = 4


def _checklist_of(n: int):
    """A restroom checklist of ``n`` items of the usual mix, in sections of 10, for the cleaners."""
    kinds = [
        "pass_fail",
        "pass_fail",
        "yes_no",
        "number",
        "text",
        "pass_fail",
        "choice",
        "pass_fail",
        "photo",
        "pass_fail",
    ]
    items = [
        {
            "id": f"i{k}",
            "label": f"检查项 {k}",
            "standard": "地面清洁，无污迹，无水痕，无纸屑。",
            "type": kinds[k % 10],
            **({"choices": ["好", "一般", "差"]} if kinds[k % 10] == "choice" else {}),
            **({"photo_on_fail": True} if kinds[k % 10] == "pass_fail" else {}),
        }
        for k in range(n)
    ]
    template = ChecklistTemplate(
        kind=TemplateKind.CLEANING, title=f"{n} 项检查表", roles=["cleaner"], area_type="restroom"
    )
    db.session.add(template)
    db.session.flush()
    sections = [{"title": f"第 {s // 10 + 1} 组", "items": items[s : s + 10]} for s in range(0, n, 10)]
    publish_template_version(db.session, template, Definition.model_validate({"sections": sections}), actor=None)
    return template


def phone_photo(seed: int) -> bytes:
    """A photo as the phone sends it: 1600×1200 JPEG of a busy scene, a few hundred KB."""
    rng = random.Random(seed)
    image = Image.effect_noise((1600, 1200), 40).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(1600), rng.randrange(1200)
        draw.rectangle(
            (x, y, x + rng.randrange(40, 400), y + rng.randrange(40, 300)),
            fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)),
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def bench_photos(kind: str, postgres_url: str | None, folder: Path, photos: int = 30) -> dict:
    import hashlib

    app = build_app(fresh_database_url(kind, postgres_url, folder), folder)
    world = populate(app, phones=1)
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": world["usernames"][0], "password": "bench-pass", "device_name": "b"}
    ).get_json()["token"]
    files = [phone_photo(n) for n in range(photos)]
    ingest, bare = [], []
    try:
        for data in files:
            t0 = time.perf_counter()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image.save(io.BytesIO(), "JPEG", quality=82)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            response = client.put(
                f"/api/v1/photos/{hashlib.sha256(data).hexdigest()}",
                data=data,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
            )
            ingest.append(time.perf_counter() - t0)
            assert response.status_code == 201, response.get_json()
    finally:
        with app.app_context():
            db.engine.dispose()
    result = {
        "ingest_ms": statistics.median(ingest) * 1000,
        "bare_ms": statistics.median(bare) * 1000,
        "bytes": statistics.median(len(f) for f in files),
        "n": photos,
    }
    result["ratio"] = result["ingest_ms"] / result["bare_ms"]
    return result
