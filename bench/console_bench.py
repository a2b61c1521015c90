"""The console under load: gunicorn (4 workers) on a database holding 100,000 tickets and
200,000 inspections (`flask demo history`), 20 logged-in clients at once, p50/p95 of the
dashboard and of the ticket list against /healthz (a trivial route: one SELECT 1) in the same run."""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.world import build_app, fresh_database_url
from demo.world import DEMO_PASSWORD, load_demo
from foundation.base import utcnow
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROUTES = {"trivial": "/healthz", "list": "/console/tickets", "dashboard": "/console"}
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One browser's worth of HTTP: a kept-alive connection and the session cookie."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Accept-Language": "zh-CN"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text

    def log_in(self, username: str) -> None:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "POST", "/login", urlencode({"csrf_token": token, "username": username, "password": DEMO_PASSWORD})
        )
        assert status == 303, f"login failed: {status}"


def _serve(database_url: str, folder: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "PHOTO_DIR": str(folder / "photos"),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
            "webapp:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if Client(port).request("GET", "/healthz")[0] == 200:
                return server
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.3)


def _load(clients: list[Client], path: str, per_client: int) -> list[float]:
    """Every client asks for ``path`` ``per_client`` times, all at once; the latencies in ms."""
    times: list[float] = []
    lock, start = threading.Lock(), threading.Barrier(len(clients))

    def run(client: Client) -> None:
        start.wait()
        mine = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            status, _ = client.request("GET", path)
            mine.append((time.perf_counter() - t0) * 1000)
            assert status == 200, f"{path} answered {status}"
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def bench_console(
    kind: str,
    postgres_url: str | None,
    folder: Path,
    tickets: int = 100_000,
    inspections: int = 200_000,
    clients: int = 20,
    per_client: int = 20,
) -> dict:
    url = fresh_database_url(kind, postgres_url, folder)
    app = build_app(url, folder)
    with app.app_context():
        load_demo(db.session, utcnow())
        db.session.commit()
    t0 = time.perf_counter()
    subprocess.run(
        [str(BIN / "flask"), "demo", "history", "--tickets", str(tickets), "--inspections", str(inspections)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "FLASK_APP": "webapp:create_app",
            "LOG_LEVEL": "WARNING",
        },
    )
    generated_s = time.perf_counter() - t0
    port = _free_port()
    server = _serve(url, folder, port)
    try:
        users = [Client(port) for _ in range(clients)]
        for n, user in enumerate(users):
            user.log_in("wangjl" if n % 2 else "liuxia")
        for path in ROUTES.values():  # warm every worker's caches and connections
            _load(users, path, 2)
        result = {"generated_s": generated_s}
        for name, path in ROUTES.items():
            times = _load(users, path, per_client)
            result[name] = {"p50": _percentile(times, 50), "p95": _percentile(times, 95), "n": len(times)}
        result["ratio"] = result["dashboard"]["p95"] / result["trivial"]["p95"]
        result["list_ratio"] = result["list"]["p95"] / result["trivial"]["p95"]
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)
