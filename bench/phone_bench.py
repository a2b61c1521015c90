"""The phone at month six: a cleaner's phone after six months of shifts against a new phone, in
the same run, on a phone whose CPU is slowed 4x (Chromium's own throttling).

Three phones, each signed in as the same cleaner on its own browser profile:
- **new**: nothing but what signing in keeps.
- **policy**: six months under the retention policy: what the phone keeps at month six is the
  window's sent records (about 27 a day) with their receipts, and 30 drafts under way with a photo.
- **legacy**: six months under the code before the policy, which kept everything: 5,000 sent records
  (182 days) with their receipts and the same drafts. Its first sync run applies the window; it is
  then put down for a minute (no page open), as between two rounds.

Each is measured alike: a sync run that sends one new record, Today's and the outbox page's first
contentful paint and the moment their scripts have drawn the phone's records (the sync bar, the
outbox summary), and the origin's storage use after a browser restart.
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


def _history(template_id: int, version: int, days: float) -> dict:
    """A cleaner's sent records of the last ``days`` as the phone kept them (at the pace of six
    months' 5,000), and her drafts under way."""
    now = datetime.now(UTC)
    outbox, sent = [], []
    for n in range(round(SENT_RECORDS * days / DAYS)):
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
    # Tidied up last long ago, so the first run applies the window (sync.js tidies once an hour).
    meta = [{"key": "pruned_at", "value": _iso(now - timedelta(days=1))}]
    return {"outbox": outbox, "sent": sent, "drafts": drafts, "meta": meta}


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


# What the retention policy must keep, as the bytes of its rows: the window's sent records with their
# receipts, the drafts, and the photos they name.
KEPT_BYTES = """async () => {
  const rows = [(await fieldStore.sentSince(0)).rows, await fieldStore.all("sent"), await fieldStore.all("drafts")];
  return new Blob(rows.map((r) => JSON.stringify(r))).size + await fieldStore.photoBytes();
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


TIMINGS = {
    "sync_ms": "a sync run sending one new record",
    "today_fcp_ms": "Today: first contentful paint",
    "today_drawn_ms": "Today: the phone's records drawn",
    "outbox_fcp_ms": "outbox page: first contentful paint",
    "outbox_drawn_ms": "outbox page: the phone's records drawn",
}


def _measure(page, server, ticket_id: str, runs: int) -> dict:
    """A sync run sending one record, and Today's and the outbox page's paints, medians of ``runs``."""
    figures: dict = {}
    page.goto(server.url + "/today")
    wait_until(page, "Boolean(window.barDrawnAt)")
    figures["sync_ms"] = statistics.median(page.evaluate(SYNC_ONE, ticket_id) for _ in range(runs))
    today = [_paint(page, server.url + "/today", "barDrawnAt") for _ in range(runs)]
    outbox = [_paint(page, server.url + "/outbox", "heldDrawnAt") for _ in range(runs)]
    figures["today_fcp_ms"] = statistics.median(t[0] for t in today)
    figures["today_drawn_ms"] = statistics.median(t[1] for t in today)
    figures["outbox_fcp_ms"] = statistics.median(o[0] for o in outbox)
    figures["outbox_drawn_ms"] = statistics.median(o[1] for o in outbox)
    return figures


def bench_phone_history(folder: Path, runs: int = 5) -> dict:
    app = build_app(fresh_database_url("sqlite", None, folder), folder)
    keep_days = app.config["PHONE_KEEP_SENT_DAYS"]
    with app.app_context():
        load_demo(db.session, utcnow())
        db.session.commit()
        template = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.title == "清洁标准：卫生间"))
        template_id, version = template.id, template.current_version
        ticket_id = str(db.session.scalar(select(Ticket.id).where(Ticket.number.like("BY-%")).limit(1)))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = LiveServer(app)
    # The policy phone's window ends a little inside the window, so no record leaves it mid-run.
    kept = {"policy": _history(template_id, version, keep_days - 0.1), "legacy": _history(template_id, version, DAYS)}
    photo = list(phone_photo(7))
    result: dict = {"keep_days": keep_days}
    try:
        with sync_playwright() as pw:
            for phone in ("new", "policy", "legacy"):
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
                if phone != "new":
                    page.evaluate(SEED, [kept[phone], photo])
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
                    figures["kept_bytes"] = page.evaluate(KEPT_BYTES)
                if phone == "legacy":
                    # Put down for a minute, as between two rounds: with no page open and its service
                    # worker stopped, the browser may tidy the database the deletions left behind.
                    page.goto("about:blank")
                    time.sleep(IDLE_S)
                context.add_init_script(DRAWN)
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
                figures |= _measure(page, server, ticket_id, runs)
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
    for phone in ("policy", "legacy"):
        result[phone]["ratios"] = {key: result[phone][key] / result["new"][key] for key in TIMINGS}
        result[phone]["usage_limit"] = 2 * (result["new"]["usage"] + result[phone]["kept_bytes"])
    return result


def section(result: dict) -> list[str]:
    """The lines of docs/PERFORMANCE.md for these results (bench/run.py)."""
    new, policy, legacy = result["new"], result["policy"], result["legacy"]
    mb = 1024 * 1024
    lines = [
        "## The phone at month six",
        "",
        "A cleaner's phone at month six against a new phone signed in as the same person, in the same run,",
        f"Chromium's CPU slowed {CPU_SLOWDOWN}x (`bench/phone_bench.py`), medians of five. *Policy*: six months",
        f"under the retention window ({result['keep_days']} days): its {policy['kept_after']['sent']} sent records"
        f" with their receipts and {DRAFTS} drafts with a photo.",
        f"*Legacy*: six months under the code before the window, which kept everything ({SENT_RECORDS:,} sent"
        f" records); its first sync run kept {legacy['kept_after']['sent']} of them in "
        f"{legacy['first_run_s']:.1f} s, then it was put down for {IDLE_S} s. Targets: each timing within 1.2x",
        "of the new phone's; storage under 2x of (the new phone's + what the policy must keep: the window's",
        "sent records with their receipts, the drafts and their photo, as the bytes of their rows).",
        "",
        "| measure | new phone | policy | ratio | legacy | ratio | target ≤ 1.2 (policy) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for key, label in TIMINGS.items():
        ratio = policy["ratios"][key]
        lines.append(
            f"| {label} (ms) | {new[key]:.0f} | {policy[key]:.0f} | {ratio:.2f} | {legacy[key]:.0f} | "
            f"{legacy['ratios'][key]:.2f} | {'met' if ratio <= 1.2 else 'MISSED'} |"
        )
    lines += [
        "",
        "| storage after a restart | new phone | policy | legacy |",
        "| --- | ---: | ---: | ---: |",
        f"| used (MB) | {new['usage'] / mb:.2f} | {policy['usage'] / mb:.2f} | {legacy['usage'] / mb:.2f} |",
        f"| what the policy must keep (MB) | | {policy['kept_bytes'] / mb:.2f} | {legacy['kept_bytes'] / mb:.2f} |",
        f"| limit: 2 × (new + what must be kept) (MB) | | {policy['usage_limit'] / mb:.2f} | "
        f"{legacy['usage_limit'] / mb:.2f} |",
        f"| target | | {'met' if policy['usage'] <= policy['usage_limit'] else 'MISSED'} | "
        f"{'met' if legacy['usage'] <= legacy['usage_limit'] else 'MISSED'} |",
        "",
        "By kind (MB): "
        + "; ".join(
            f"{name} " + ", ".join(f"{kind} {size / mb:.2f}" for kind, size in phone["usage_details"].items())
            for name, phone in (("new", new), ("policy", policy), ("legacy", legacy))
        )
        + f". The legacy phone held {legacy['usage_before'] / mb:.1f} MB before its first run. The deleted"
        " records' space is the browser's to reclaim (IndexedDB compacts its files on its own schedule,"
        " when no page or worker has the database open), so the legacy figure varies from run to run.",
    ]
    return lines


if __name__ == "__main__":
    import pprint

    figures = bench_phone_history(Path(tempfile.mkdtemp(prefix="fieldcheck-bench-")))
    pprint.pprint(figures)
    print("\n".join(section(figures)))
