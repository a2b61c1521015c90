"""The phone at month six: a cleaner's phone after six months of shifts against a new phone, in
the same run, on a phone whose CPU is slowed 4x (Chromium's own throttling).

The six-month phone is seeded with what today's code would have kept without a retention policy:
5,000 sent records (about 27 a day for 182 days) with their receipts and "sent" notes, and 30
drafts under way, each with a photo. Its first sync run applies the retention window; then both
phones are measured alike: a sync run that sends one new record, Today's and the outbox page's
first contentful paint and the moment their scripts have drawn the phone's records (the sync bar,
the outbox summary), and the origin's storage use after a browser restart.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import select

from bench.field_bench import CPU_SLOWDOWN, phone_photo
from bench.world import build_app, fresh_database_url
from demo.world import load_demo
from foundation.base import utcnow
from inspections.checklists import ChecklistTemplate
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, LiveServer, log_in, wait_until, wait_until_offline_ready
from tickets.models import Ticket
from webapp.extensions import db

SENT_RECORDS = 5000
DAYS = 182
DRAFTS = 30
IDLE_S = 60

# Marks when the page's scripts have drawn what the phone holds: the sync bar (every page) and
# the outbox summary (/outbox).
DRAWN = """
(() => {
  const seen = () => {
    const bar = document.getElementById("sync-status");
    if (bar && !bar.hidden && !window.barDrawnAt) window.barDrawnAt = performance.now();
    const held = document.getElementById("outbox-held");
    if (held && !held.hidden && !window.heldDrawnAt) window.heldDrawnAt = performance.now();
    if (!window.barDrawnAt || (location.pathname === "/outbox" && !window.heldDrawnAt)) requestAnimationFrame(seen);
  };
  requestAnimationFrame(seen);
})();
"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _history(template_id: int, version: int) -> dict:
    """Six months of a cleaner's records as the phone kept them, and her drafts under way."""
    now = datetime.now(UTC)
    outbox, sent = [], []
    for n in range(SENT_RECORDS):
        at = now - timedelta(days=DAYS * (n + 1) / SENT_RECORDS)
        inspection_id = str(uuid.uuid4())
        outbox.append(
            {
                "id": str(uuid.uuid4()),
                "type": "inspection.submit",
                "status": "sent",
                "title": "清洁标准：卫生间",
                "place": f"{n % 30 + 1}F 女卫生间",
                "created_at": _iso(at),
                "sent_at": _iso(at + timedelta(minutes=1)),
                "photos": [],
                "error": None,
                "edit_url": f"/checklists/{template_id}?location={n % 40 + 1}",
                "payload": {
                    "inspection_id": inspection_id,
                    "template_id": template_id,
                    "template_version": version,
                    "site_id": 1,
                    "location_id": n % 40 + 1,
                    "started_at": _iso(at - timedelta(minutes=4)),
                    "finished_at": _iso(at),
                    "answers": [{"item_id": f"item-{k}", "value": "pass", "note": "", "photos": []} for k in range(20)],
                    "geo": {"lat": 31.2, "lon": 121.4, "accuracy_m": 12},
                },
                "result": {"id": "x", "status": "applied", "entity": {"id": inspection_id, "tickets": []}},
            }
        )
        sent.append({"inspection_id": inspection_id, "outbox_id": outbox[-1]["id"], "at": _iso(at)})
    drafts = [
        {
            "key": f"draft-{n}",
            "inspection_id": str(uuid.uuid4()),
            "template_id": template_id,
            "template_version": version,
            "started_at": _iso(now - timedelta(hours=n)),
            "updated_at": _iso(now - timedelta(hours=n)),
            "answers": {f"item-{k}": {"value": "pass", "note": "", "photos": []} for k in range(10)},
        }
        for n in range(DRAFTS)
    ]
    return {"outbox": outbox, "sent": sent, "drafts": drafts}


SEED = """async ([history, photo]) => {
  const data = new Uint8Array(photo).buffer;
  const sha = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  await fieldStore.put("photos", { sha256: sha, type: "image/jpeg", data, uploaded: false,
    kept_at: new Date().toISOString() });
  for (const draft of history.drafts) {
    draft.answers["item-photo"] = { value: sha, note: "", photos: [sha] };
  }
  for (const [store, rows] of Object.entries(history)) await fieldStore.putMany(store, rows);
}"""

SYNC_ONE = """async (ticketId) => {
  await fieldStore.put("outbox", { id: crypto.randomUUID(), type: "ticket.comment", status: "waiting",
    payload: { ticket_id: ticketId, text: "已处理" }, photos: [], title: "工单变更", place: "",
    created_at: new Date().toISOString(), error: null });
  const started = performance.now();
  await fieldSync.syncNow();
  return performance.now() - started;
}"""


def _paint(page, url: str, drawn: str) -> tuple[float, float]:
    """First contentful paint of ``url`` and when its scripts had drawn the phone's records."""
    page.goto(url)
    wait_until(page, f"Boolean(window.{drawn})")
    return page.evaluate(
        f"[(performance.getEntriesByName('first-contentful-paint')[0] || {{}}).startTime || 0, window.{drawn}]"
    )


def _usage(page) -> tuple[int, dict]:
    """The origin's storage use in bytes, and its share by kind (indexedDB, caches, serviceWorker)."""
    return page.evaluate("navigator.storage.estimate().then((e) => [e.usage, e.usageDetails])")


def bench_phone_history(folder: Path, runs: int = 5) -> dict:
    app = build_app(fresh_database_url("sqlite", None, folder), folder)
    with app.app_context():
        load_demo(db.session, utcnow())
        db.session.commit()
        template = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.title == "清洁标准：卫生间"))
        template_id, version = template.id, template.current_version
        ticket_id = str(db.session.scalar(select(Ticket.id).where(Ticket.number.like("BY-%")).limit(1)))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = LiveServer(app)
    history = _history(template_id, version)
    photo = list(phone_photo(7))
    result: dict = {}
    try:
        with sync_playwright() as pw:
            for phone in ("new", "six_months"):
                profile = Path(tempfile.mkdtemp(prefix=f"phone-{phone}-", dir=folder))

                def launch():
                    return pw.chromium.launch_persistent_context(
                        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **PHONE
                    )

                context = launch()
                page = context.new_page()
                log_in(page, server.url, "chenmei")
                wait_until_offline_ready(page)
                wait_until(page, "async () => Boolean(await fieldStore.meta('token'))")
                figures: dict = {}
                if phone == "six_months":
                    page.evaluate(SEED, [history, photo])
                    figures["kept_before"] = page.evaluate("fieldStore.tally()")
                    context.close()  # a restart, so that the storage measured is settled on disk
                    context = launch()
                    page = context.new_page()
                    page.goto(server.url + "/today")
                    figures["usage_before"], _ = _usage(page)
                    started = time.perf_counter()
                    page.evaluate("fieldSync.syncNow()")  # the first run under the retention window
                    figures["first_run_s"] = time.perf_counter() - started
                    figures["kept_after"] = page.evaluate("fieldStore.tally()")
                    figures["window_bytes"] = page.evaluate(
                        "fieldStore.sentSince(0).then((sent) => new Blob([JSON.stringify(sent.rows)]).size)"
                    )
                    # Put down for a minute, as between two rounds: with no page open and its service
                    # worker stopped, the browser tidies the database the deletions left behind.
                    page.goto("about:blank")
                    time.sleep(IDLE_S)
                    page.goto(server.url + "/today")
                    figures["usage_after_idle"], _ = _usage(page)
                context.add_init_script(DRAWN)
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
                page.goto(server.url + "/today")
                wait_until(page, "Boolean(window.barDrawnAt)")
                figures["sync_ms"] = statistics.median(page.evaluate(SYNC_ONE, ticket_id) for _ in range(runs))
                today = [_paint(page, server.url + "/today", "barDrawnAt") for _ in range(runs)]
                outbox = [_paint(page, server.url + "/outbox", "heldDrawnAt") for _ in range(runs)]
                figures["today_fcp_ms"] = statistics.median(t[0] for t in today)
                figures["today_drawn_ms"] = statistics.median(t[1] for t in today)
                figures["outbox_fcp_ms"] = statistics.median(o[0] for o in outbox)
                figures["outbox_drawn_ms"] = statistics.median(o[1] for o in outbox)
                context.close()
                context = launch()
                page = context.new_page()
                page.goto(server.url + "/today")
                figures["usage"], figures["usage_details"] = _usage(page)
                context.close()
                result[phone] = figures
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()
    new, old = result["new"], result["six_months"]
    result["ratios"] = {
        key: old[key] / new[key]
        for key in ("sync_ms", "today_fcp_ms", "today_drawn_ms", "outbox_fcp_ms", "outbox_drawn_ms")
    }
    result["usage_limit"] = 2 * (new["usage"] + old["window_bytes"])
    return result


TIMINGS = {
    "sync_ms": "a sync run sending one new record",
    "today_fcp_ms": "Today: first contentful paint",
    "today_drawn_ms": "Today: the phone's records drawn",
    "outbox_fcp_ms": "outbox page: first contentful paint",
    "outbox_drawn_ms": "outbox page: the phone's records drawn",
}


def section(result: dict) -> list[str]:
    """The lines of docs/PERFORMANCE.md for these results (bench/run.py)."""
    new, old = result["new"], result["six_months"]
    mb = 1024 * 1024
    lines = [
        "## The phone at month six",
        "",
        f"A cleaner's phone after six months of shifts ({SENT_RECORDS:,} sent records with their receipts, what",
        f"the app kept before its retention window, and {DRAFTS} drafts with a photo) against a new phone signed",
        f"in as the same person, in the same run, Chromium's CPU slowed {CPU_SLOWDOWN}x (`bench/phone_bench.py`).",
        f"The old phone's first sync run applied the window ({old['kept_before']['sent']:,} → "
        f"{old['kept_after']['sent']:,} sent records kept, {old['first_run_s']:.1f} s); then it was put down for",
        f"{IDLE_S} s (no page open) before both were measured alike, medians of five. Targets: each timing within",
        "1.2x of the new phone's; storage under 2x of (the new phone's + the window's records).",
        "",
        "| measure | new phone | six-month phone | ratio | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for key, label in TIMINGS.items():
        ratio = result["ratios"][key]
        lines.append(
            f"| {label} (ms) | {new[key]:.0f} | {old[key]:.0f} | {ratio:.2f} | {'met' if ratio <= 1.2 else 'MISSED'} |"
        )
    limit = result["usage_limit"]
    lines += [
        f"| storage after a restart (MB) | {new['usage'] / mb:.2f} | {old['usage'] / mb:.2f} | "
        f"{old['usage'] / limit:.2f} of the limit ({limit / mb:.2f}) | "
        f"{'met' if old['usage'] <= limit else 'MISSED'} |",
        "",
        f"Before the window, the old phone held {old['usage_before'] / mb:.1f} MB; right after its first run",
        f"{old['usage_after_idle'] / mb:.1f} MB once idle. The window's records are {old['window_bytes'] / 1024:.0f} KB",
        "as JSON. The six-month phone's storage by kind: "
        + ", ".join(f"{kind} {size / mb:.2f} MB" for kind, size in old["usage_details"].items())
        + "; the new phone's: "
        + ", ".join(f"{kind} {size / mb:.2f} MB" for kind, size in new["usage_details"].items())
        + ".",
    ]
    return lines


if __name__ == "__main__":
    import pprint

    figures = bench_phone_history(Path(tempfile.mkdtemp(prefix="fieldcheck-bench-")))
    pprint.pprint(figures)
    print("\n".join(section(figures)))
