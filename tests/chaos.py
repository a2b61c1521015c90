"""Chaos on the sync path, against the real servers.

Two app servers (gunicorn, several workers each, on their own ports with their own local
folders) share one PostgreSQL and one S3 object store, as two machines behind a load balancer
do. Simulated phones push through a proxy that sends each request to either server, loses
responses and cuts requests half-sent; phones resend what was already acknowledged, send the same
batch on two connections at once and shuffle what they send, and upload photos to one server. In
the middle the first server is killed and started again, and later the database refuses every
connection for a few seconds. Then the network heals, every phone empties its outbox, and the
servers must hold exactly the records the phones made, each once: every inspection, every ticket
and every comment (comments carry no id of their own, so only the mutation id keeps them from
doubling); and every photo put on one server is shown by the other.

The phones come in pairs: two devices of one person, each with its own token. Meanwhile a
manager at a desk works the same tickets in the web console on the other server: comments,
assignments and moves, each sent from what the page showed (its version). Every desk action is
saved (303) or comes back showing what changed meanwhile (409), never an error; the desk's
comments arrive once; and each ticket's history stays whole: versions 1, 2, 3 … one per event,
and every move starting where the one before it ended.

`make chaos` runs it full size (20 phones × 200 mutations); tests/test_chaos.py in a short form.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import io
import json
import os
import random
import re
import select
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3
import sqlalchemy as sa
from PIL import Image

from bench.world import AppServer, build_app, free_port, fresh_database_url, populate
from foundation.org import Site, User
from foundation.people import create_user
from foundation.roles import Role
from inspections.records import Inspection
from sync.models import AppliedMutation
from tickets.models import Ticket, TicketEvent
from webapp.extensions import db


@dataclass
class Settings:
    phones: int = 20
    mutations: int = 200  # made by each phone
    workers: int = 3  # per server
    servers: int = 2
    photo: float = 0.05  # share of records that come with a photo
    lose_response: float = 0.10  # the server answers, the phone never hears it
    cut_request: float = 0.05  # the connection drops half-way through the request
    resend_acknowledged: float = 0.10  # a batch also carries mutations already answered
    double_send: float = 0.05  # the same batch on two connections at once
    shuffle: float = 0.20  # a batch in another order (a comment may arrive before its ticket)
    restart_after: float = 0.35  # share of all mutations made when the server is killed
    outage_after: float = 0.65  # ... when the database starts refusing connections
    outage_s: float = 3.0
    devices_per_person: int = 2  # phones of one person, side by side
    desk_pause: float = 0.05  # between the desk's actions (seconds)
    seed: int = 8


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


class Listener:
    """Accepts connections on a free local port and hands each to ``serve`` in a thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopped.set()
        _close(self.sock)


class DatabaseGate(Listener):
    """A byte relay in front of PostgreSQL that can refuse: while closed it cuts every open
    connection and hangs up on new ones, as a database host that went away would."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.closed_until = 0.0
        self.live: set[socket.socket] = set()
        self.lock = threading.Lock()
        super().__init__()

    def refuse(self, seconds: float) -> None:
        with self.lock:
            self.closed_until = time.monotonic() + seconds
            live, self.live = self.live, set()
        _close(*live)

    def serve(self, conn: socket.socket) -> None:
        if time.monotonic() < self.closed_until:
            _close(conn)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            _close(conn)
            return
        with self.lock:
            self.live |= {conn, upstream}
        pair = {conn: upstream, upstream: conn}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.live -= {conn, upstream}
            _close(conn, upstream)


class FlakyNetwork(Listener):
    """An HTTP proxy (one request per connection) that sends each request to one of the servers,
    as a load balancer does, and loses responses and cuts requests."""

    def __init__(self, upstream_ports: list[int], settings: Settings) -> None:
        self.upstream_ports = upstream_ports
        self.settings = settings
        self.random = random.Random(settings.seed)
        self.lock = threading.Lock()
        self.healed = False
        self.fates: Counter[str] = Counter()
        super().__init__()

    def _fate(self) -> tuple[str, int]:
        with self.lock:
            port = self.random.choice(self.upstream_ports)
            roll = self.random.random()
            if self.healed:
                fate = "delivered"
            elif roll < self.settings.cut_request:
                fate = "cut"
            elif roll < self.settings.cut_request + self.settings.lose_response:
                fate = "lost"
            else:
                fate = "delivered"
            self.fates[fate] += 1
            return fate, port

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("client went away")
            body += chunk
        return head + b"\r\n\r\n" + body

    def serve(self, conn: socket.socket) -> None:
        upstream = None
        try:
            request = self._read_request(conn)
            fate, port = self._fate()
            upstream = socket.create_connection(("127.0.0.1", port), timeout=60)
            if fate == "cut":
                upstream.sendall(request[: len(request) // 2])
                return
            upstream.sendall(request)
            response = b""
            while chunk := upstream.recv(65536):
                response += chunk
            if fate == "delivered":
                conn.sendall(response)
        except OSError:
            pass  # the server is down or restarting: the phone sees a dropped connection
        finally:
            _close(conn, *([upstream] if upstream else []))


PHOTO_SIZE = (64, 48)


def _photo(rng: random.Random) -> bytes:
    """A small JPEG no other phone makes."""
    image = Image.new("RGB", PHOTO_SIZE, tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(8):
        image.putpixel((rng.randrange(64), rng.randrange(48)), tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def _put_photo(port: int, sha: str, data: bytes, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/photos/{sha}",
        data=data,
        method="PUT",
        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _web_login(port: int, username: str) -> urllib.request.OpenerDirector:
    """A browser's session on one server: the login form, its token, the cookie."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"http://127.0.0.1:{port}/login") as response:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": username, "password": "bench-pass", "csrf_token": token}).encode()
    with browser.open(f"http://127.0.0.1:{port}/login", data=form) as response:
        assert "/login" not in response.url, f"{username} could not log in on port {port}"
    return browser


def _http(port: int, method: str, path: str, body: dict | None, token: str | None = None) -> tuple[int, dict]:
    """One request on its own connection; an OSError is what a phone sees of a broken network."""
    payload = json.dumps(body).encode() if body is not None else b""
    headers = [
        f"{method} {path} HTTP/1.1",
        "Host: chaos",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + payload)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    if not data:
        raise ConnectionResetError("no answer")
    head, _, body_bytes = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body_bytes) if body_bytes.strip() else {}


@dataclass
class Phone:
    """One device: makes records, keeps them in an outbox, and syncs through the flaky network."""

    number: int
    username: str
    world: dict
    settings: Settings
    port: int
    servers: list[int]  # the app servers themselves: photos are put on one, read from another
    token: str = ""
    photos: dict[str, int] = field(default_factory=dict)  # sha256 → the server it was put on
    photos_to_send: list[bytes] = field(default_factory=list)
    outbox: list[dict] = field(default_factory=list)
    answered: dict[str, dict] = field(default_factory=dict)  # mutation id → mutation
    made: dict[str, set] = field(default_factory=lambda: {"inspection": set(), "ticket": set(), "comment": set()})
    statuses: Counter = field(default_factory=Counter)  # HTTP statuses and mutation results seen
    surprises: list[str] = field(default_factory=list)
    last_503: float = 0.0

    def __post_init__(self) -> None:
        self.random = random.Random(self.settings.seed * 1000 + self.number)

    def log_in(self) -> None:
        while not self.token:
            try:
                status, body = _http(
                    self.port,
                    "POST",
                    "/api/v1/auth/token",
                    {"username": self.username, "password": "bench-pass", "device_name": f"chaos {self.number}"},
                )
            except OSError:
                status, body = 0, {}
            self.statuses[f"token {status}"] += 1
            if status == 201:
                self.token = body["token"]
            else:
                time.sleep(0.1)

    def make(self) -> None:
        """One new record: mostly inspections, some tickets, comments on my own tickets."""
        roll, world = self.random.random(), self.world
        now = datetime.now(UTC).isoformat()
        tickets = sorted(self.made["ticket"])
        if roll < 0.15 or not tickets and roll < 0.3:
            ticket_id = str(uuid.uuid4())
            self.made["ticket"].add(ticket_id)
            mutation = {
                "type": "ticket.create",
                "payload": {
                    "ticket_id": ticket_id,
                    "kind": "hazard",
                    "title": f"漏水 {self.number}-{len(tickets)}",
                    "site_id": world["site_id"],
                    "location_id": world["location_id"],
                },
            }
        elif roll < 0.3:
            ticket_id = self.random.choice(tickets)
            text = f"第 {len(self.made['comment']) + 1} 次跟进（{self.username}）"
            self.made["comment"].add((ticket_id, text))
            mutation = {"type": "ticket.comment", "payload": {"ticket_id": ticket_id, "text": text}}
        else:
            inspection_id = str(uuid.uuid4())
            self.made["inspection"].add(inspection_id)
            mutation = {
                "type": "inspection.submit",
                "payload": {
                    "inspection_id": inspection_id,
                    "template_id": world["template_id"],
                    "template_version": 1,
                    "site_id": world["site_id"],
                    "location_id": world["location_id"],
                    "started_at": now,
                    "finished_at": now,
                    "answers": [{"item_id": f"i{k:02d}", "value": "pass"} for k in range(world["items"])],
                },
            }
        self.outbox.append({"id": str(uuid.uuid4()), **mutation})
        if self.random.random() < self.settings.photo:
            self.photos_to_send.append(_photo(self.random))

    def send_photos(self) -> None:
        """Each waiting photo to one server, straight (its upload is retried until it answers)."""
        for data in list(self.photos_to_send):
            server = self.random.randrange(len(self.servers))
            sha = hashlib.sha256(data).hexdigest()
            try:
                status = _put_photo(self.servers[server], sha, data, self.token)
            except OSError:
                status = 0
            self.statuses[f"photo {status}"] += 1
            if status in (200, 201):
                self.photos[sha] = server
                self.photos_to_send.remove(data)

    def sync(self) -> None:
        """Push part of the outbox the way a phone on a bad network does."""
        self.send_photos()
        if not self.outbox:
            return
        batch = self.outbox[: self.random.randint(1, 25)]
        if self.random.random() < self.settings.shuffle:
            batch = self.random.sample(batch, len(batch))
        if self.answered and self.random.random() < self.settings.resend_acknowledged:
            batch = batch + self.random.sample(
                sorted(self.answered.values(), key=lambda m: m["id"]), min(3, len(self.answered))
            )
        body = {"device_time": datetime.now(UTC).isoformat(), "mutations": batch}
        if self.random.random() < self.settings.double_send:
            other = threading.Thread(target=self._push, args=(body,))
            other.start()
            self._push(body)
            other.join()
        else:
            self._push(body)

    def _push(self, body: dict) -> None:
        try:
            status, answer = _http(self.port, "POST", "/api/v1/sync/push", body, self.token)
        except OSError:
            status, answer = 0, {}
        self.statuses[f"push {status}"] += 1
        if status == 503:
            self.last_503 = time.monotonic()
            time.sleep(0.5)  # a phone waits as Retry-After says (5 s), shortened for the test
            return
        if status != 200:
            if status != 0:
                self.surprises.append(f"push answered {status}: {answer}")
            time.sleep(0.25)  # no answer: the phone tries again a little later
            return
        sent = {m["id"]: m for m in body["mutations"]}
        for result in answer["results"]:
            self.statuses[result["status"]] += 1
            mutation = sent[result["id"]]
            if result["status"] in ("applied", "duplicate"):
                self.answered[result["id"]] = mutation
                self.outbox = [m for m in self.outbox if m["id"] != result["id"]]
            elif (
                result["status"] == "rejected"
                and result["error"]["code"] == "unknown_ticket"
                and mutation["type"] == "ticket.comment"
            ):
                pass  # shuffled ahead of its ticket: stays in the outbox and goes again
            else:
                self.surprises.append(f"{mutation['type']} {result['status']}: {result.get('error')}")

    def run(self, made_total: Counter, lock: threading.Lock) -> None:
        self.log_in()
        for _ in range(self.settings.mutations):
            self.make()
            with lock:
                made_total["made"] += 1
            if self.random.random() < 0.4:
                self.sync()

    def drain(self) -> None:
        """The network is back: send until the outbox is empty (a phone would keep trying)."""
        for _ in range(200):
            if not self.outbox and not self.photos_to_send:
                return
            self.sync()
        self.surprises.append(f"outbox still holds {len(self.outbox)} after 200 tries")

    def photos_unreadable(self) -> list[str]:
        """The photos this phone put on one server that the other does not show to its person."""
        unreadable = []
        for other in range(len(self.servers)):
            shas = [sha for sha, server in self.photos.items() if server != other]
            if not shas:
                continue
            browser = _web_login(self.servers[other], self.username)
            for sha in shas:
                try:
                    with browser.open(f"http://127.0.0.1:{self.servers[other]}/photos/{sha}") as response:
                        shown = response.read()
                except urllib.error.HTTPError:
                    unreadable.append(sha)
                    continue
                with Image.open(io.BytesIO(shown)) as image:
                    if image.size != PHOTO_SIZE:
                        unreadable.append(sha)
        return unreadable


@dataclass
class Report:
    settings: Settings
    made: dict[str, int]
    stored: dict[str, int]
    missing: dict[str, int]
    extra: dict[str, int]
    outbox_left: int
    photos: int  # put on one server
    photos_unreadable: int  # ... and not shown by the other
    fates: dict[str, int]
    statuses: dict[str, int]
    surprises: list[str]
    seconds: float
    restart_s: float  # from the kill until the new server answered
    recovery_s: float  # from the database's return until the last 503 any phone saw
    desk: dict[str, int]  # the desk's actions by what came back: "comment 303", "assign 409", …
    broken_histories: list[str]  # tickets whose versions or moves do not follow on

    @property
    def passed(self) -> bool:
        return (
            not any(self.missing.values())
            and not any(self.extra.values())
            and self.outbox_left == 0
            and self.photos_unreadable == 0
            and not self.surprises
            and not self.broken_histories
        )

    def text(self) -> str:
        s = self.settings
        lines = [
            f"chaos: {s.phones} phones × {s.mutations} mutations, {s.servers} servers × {s.workers} gunicorn workers, "
            f"PostgreSQL, S3, {self.seconds:.0f} s",
            f"network: {dict(self.fates)}",
            f"photos: {self.photos} put on one server, {self.photos_unreadable} not shown by another",
            f"server 1: killed after {s.restart_after:.0%} of the mutations, answering again {self.restart_s:.1f} s "
            f"later; database refused connections for {s.outage_s:g} s after {s.outage_after:.0%}, last 503 "
            f"{self.recovery_s:.1f} s after it came back",
            f"answers seen by phones: {dict(sorted(self.statuses.items()))}",
            f"phones: {s.devices_per_person} per person; the desk on the web: {dict(sorted(self.desk.items()))}; "
            f"histories broken: {len(self.broken_histories)}",
            f"made: {self.made}; stored: {self.stored}",
            f"missing: {self.missing}; stored twice or never made: {self.extra}; left in outboxes: {self.outbox_left}",
        ]
        lines += [f"surprise: {x}" for x in self.surprises[:20]]
        lines += [f"broken history: {x}" for x in self.broken_histories[:10]]
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 is the answer itself: saved


class Desk:
    """A manager in the web console, working the phones' tickets as they arrive: comments,
    assignments to one of the phones' people, and the next step of the state machine, each
    posted with the version the page showed."""

    def __init__(self, app, port: int, username: str, people: list[int], seed: int, pause: float) -> None:
        self.app, self.port, self.people, self.pause = app, port, people, pause
        self.random = random.Random(seed)
        self.browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self._open("/login").read().decode()).group(1)
        status, _ = self._post("/login", {"username": username, "password": "bench-pass", "csrf_token": token})
        assert status in (302, 303), f"the desk could not log in ({status})"
        self.answers: Counter = Counter()
        self.comments: set = set()  # (ticket id, text) saved
        self.surprises: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.pause):
            with self.app.app_context():
                ticket = db.session.execute(
                    sa.select(Ticket.id, Ticket.number, Ticket.state).order_by(sa.func.random()).limit(1)
                ).first()
                db.session.rollback()
            if ticket is not None:
                self.act(*ticket)

    def act(self, ticket_id, number: str, state) -> None:
        try:
            page = self._open(f"/tickets/{number}").read().decode()
        except (OSError, urllib.error.HTTPError):
            return  # the server is busy or down for a moment: the desk tries another
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        shown = re.search(r'name="base_version" value="(\d+)"', page) or re.search(
            r'name="base_version" type="hidden" value="(\d+)"', page
        )
        moves = re.findall(r'class="transition" data-to="(\w+)"', page)
        roll = self.random.random()
        if roll < 0.4 or not shown:
            text = f"前台第 {len(self.comments) + 1} 次跟进"
            kind, path, form = "comment", "comment", {"text": text}
        elif roll < 0.7 or not moves:
            kind, path = "assign", "assign"
            form = {"department_id": "0", "assignee_id": str(self.random.choice(self.people))}
        else:
            kind, path, form = "move", "transition", {"to": self.random.choice(moves)}
        form = {**form, "csrf_token": token, **({"base_version": shown.group(1)} if shown else {})}
        status, body = self._post(f"/tickets/{number}/{path}", form)
        self.answers[f"{kind} {status}"] += 1
        if status == 303 and kind == "comment":
            self.comments.add((str(ticket_id), text))
        elif status == 409 and 'id="changed-meanwhile"' not in body:
            self.surprises.append(f"{kind} {number}: 409 without saying what changed")
        elif status not in (303, 409, 503, 0):
            self.surprises.append(f"{kind} {number}: {status} {body[:200]}")

    def _open(self, path: str, data: bytes | None = None):
        return self.browser.open(f"http://127.0.0.1:{self.port}{path}", data=data, timeout=30)

    def _post(self, path: str, form: dict) -> tuple[int, str]:
        try:
            with self._open(path, urllib.parse.urlencode(form).encode()) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read().decode(errors="replace")
        except OSError:
            return 0, ""


def _broken_histories(app) -> list[str]:
    """Tickets whose events do not carry versions 1..n, or whose moves do not follow on."""
    broken = []
    with app.app_context():
        events: dict = {}
        for ticket_id, version, action, frm, to in db.session.execute(
            sa.select(
                TicketEvent.ticket_id,
                TicketEvent.version,
                TicketEvent.action,
                TicketEvent.from_state,
                TicketEvent.to_state,
            ).order_by(TicketEvent.id)
        ):
            events.setdefault(ticket_id, []).append((version, action, frm, to))
        for ticket_id, number, version in db.session.execute(sa.select(Ticket.id, Ticket.number, Ticket.version)):
            history = events.get(ticket_id, [])
            if [v for v, *_ in history] != list(range(1, version + 1)):
                broken.append(f"{number}: versions {[v for v, *_ in history]}, ticket at {version}")
            states = [(frm, to) for _, action, frm, to in history if action != "comment" and to is not None]
            for (_, before), (after, _) in zip(states, states[1:], strict=False):
                if after is not None and after != before:
                    broken.append(f"{number}: a move from {after} after one to {before}")
    return broken


def _server_records(app, world) -> dict[str, Counter]:
    with app.app_context():
        inspections = Counter(str(i) for i in db.session.scalars(sa.select(Inspection.id)))
        tickets = Counter(str(i) for i in db.session.scalars(sa.select(Ticket.id)))
        comments = Counter(
            (str(t), note)
            for t, note in db.session.execute(
                sa.select(TicketEvent.ticket_id, TicketEvent.note).where(TicketEvent.action == "comment")
            )
        )
        applied = db.session.scalar(sa.select(sa.func.count()).select_from(AppliedMutation))
    return {"inspection": inspections, "ticket": tickets, "comment": comments, "applied": applied}


def _fresh_photo_store() -> str:
    """An empty bucket on the S3 server ``make test``/``make chaos`` started (boto3's AWS_* variables)."""
    if not os.environ.get("TEST_S3_URL"):
        raise RuntimeError("TEST_S3_URL is not set: run under scripts/with-s3.sh (make test and make chaos do)")
    bucket = f"chaos-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/photos"


def run_chaos(postgres_url: str, folder: Path, settings: Settings) -> Report:
    started = time.monotonic()
    database_url = fresh_database_url("postgresql", postgres_url, folder)
    app = build_app(database_url, folder)
    world = populate(app, phones=settings.phones)
    real_port = sa.make_url(database_url).port
    gate = DatabaseGate(real_port)
    gated_url = sa.make_url(database_url).set(port=gate.port).render_as_string(hide_password=False)
    photo_store = _fresh_photo_store()
    servers = [
        AppServer(gated_url, folder / f"server-{n + 1}", settings.workers, photo_store) for n in range(settings.servers)
    ]
    for server in servers:
        server.start()
    network = FlakyNetwork([server.port for server in servers], settings)
    phones = [
        Phone(
            n,
            world["usernames"][n // settings.devices_per_person],
            world,
            settings,
            network.port,
            [server.port for server in servers],
        )
        for n in range(settings.phones)
    ]
    with app.app_context():
        people = list(db.session.scalars(sa.select(User.id).where(User.username.in_(world["usernames"]))))
        create_user(
            db.session,
            username="desk",
            display_name="前台",
            password="bench-pass",
            role=Role.MANAGER,
            sites=[db.session.get(Site, world["site_id"])],
        )
        db.session.commit()
    desk = Desk(app, servers[-1].port, "desk", people, settings.seed, settings.desk_pause)  # the server never killed
    made, lock = Counter(), threading.Lock()
    threads = [threading.Thread(target=p.run, args=(made, lock)) for p in phones]
    desk_thread = threading.Thread(target=desk.run)
    try:
        desk_thread.start()
        for t in threads:
            t.start()
        total = settings.phones * settings.mutations
        restarted = outage = False
        restart_s = 0.0
        while any(t.is_alive() for t in threads):
            with lock:
                share = made["made"] / total
            if not restarted and share >= settings.restart_after:
                killed = time.monotonic()
                servers[0].kill()
                servers[0].start()
                restart_s = time.monotonic() - killed
                restarted = True
            if not outage and share >= settings.outage_after:
                gate.refuse(settings.outage_s)
                outage = True
            time.sleep(0.05)
        for t in threads:
            t.join()
        desk.stop.set()
        desk_thread.join()
        network.healed = True
        drains = [threading.Thread(target=p.drain) for p in phones]
        for t in drains:
            t.start()
        for t in drains:
            t.join()
        on_server = _server_records(app, world)
        broken = _broken_histories(app)
        unreadable = sum(len(phone.photos_unreadable()) for phone in phones)
    finally:
        desk.stop.set()
        for server in servers:
            server.stop()
        network.stop()
        gate.stop()
        with app.app_context():
            db.engine.dispose()

    made_by_kind = {kind: Counter() for kind in ("inspection", "ticket", "comment")}
    for phone in phones:
        for kind, records in phone.made.items():
            made_by_kind[kind].update(records)
    made_by_kind["comment"].update(desk.comments)
    missing = {k: sum((made_by_kind[k] - on_server[k]).values()) for k in made_by_kind}
    extra = {k: sum((on_server[k] - made_by_kind[k]).values()) for k in made_by_kind}
    statuses = sum((p.statuses for p in phones), Counter())
    surprises = [f"phone {p.number}: {s}" for p in phones for s in p.surprises]
    surprises += [f"desk: {s}" for s in desk.surprises]
    made_mutations = sum(len(p.answered) for p in phones)
    if on_server["applied"] != made_mutations:
        surprises.append(f"{on_server['applied']} mutations recorded as applied, phones made {made_mutations}")
    return Report(
        settings=settings,
        made={k: sum(v.values()) for k, v in made_by_kind.items()},
        stored={k: sum(on_server[k].values()) for k in made_by_kind},
        missing=missing,
        extra=extra,
        outbox_left=sum(len(p.outbox) + len(p.photos_to_send) for p in phones),
        photos=sum(len(p.photos) for p in phones),
        photos_unreadable=unreadable,
        fates=dict(network.fates),
        statuses=dict(statuses),
        surprises=surprises,
        seconds=time.monotonic() - started,
        restart_s=restart_s,
        recovery_s=max(0.0, max(p.last_503 for p in phones) - gate.closed_until),
        desk=dict(desk.answers),
        broken_histories=broken,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=Settings.phones)
    parser.add_argument("--mutations", type=int, default=Settings.mutations)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    args = parser.parse_args()
    postgres_url = os.environ.get("TEST_POSTGRES_URL")
    if not postgres_url:
        print("TEST_POSTGRES_URL is not set: run `make chaos`, which starts PostgreSQL and S3", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        report = run_chaos(
            postgres_url, Path(folder), Settings(phones=args.phones, mutations=args.mutations, seed=args.seed)
        )
        print(report.text())
        if not report.passed or os.environ.get("CHAOS_LOG"):
            for log in sorted(Path(folder).glob("server-*/gunicorn.log")):
                print(f"{log}:\n{log.read_text()[-8000:]}", file=sys.stderr)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
