"""A fresh database with just enough in it to benchmark: one site, twenty phones, a 20-item checklist."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

import foundation.org
from foundation.org import Location, LocationKind, Site
from foundation.people import create_user
from foundation.roles import Role
from inspections.checklists import ChecklistTemplate, Definition, publish_template_version
from webapp import create_app
from webapp.extensions import db


def fresh_database_url(kind: str, postgres_url: str | None, folder) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    server = sa.make_url(postgres_url)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def build_app(database_url: str, folder):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench",
            "PHOTO_DIR": str(folder / "photos"),
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
    return app


def populate(app, phones: int = 20, items: int = 20) -> dict:
    """The site, a restroom, a checklist of ``items`` pass/fail items and ``phones`` cleaners."""
    foundation.org.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # twenty logins, not a password benchmark
    with app.app_context():
        site = Site(code="BM", name="基准大厦", timezone="Asia/Shanghai")
        db.session.add(site)
        db.session.flush()
        restroom = Location(site_id=site.id, kind=LocationKind.AREA, name="卫生间", area_type="restroom")
        db.session.add(restroom)
        template = ChecklistTemplate(kind="cleaning", title="基准检查表", roles=["cleaner"], area_type="restroom")
        db.session.add(template)
        db.session.flush()
        definition = Definition.model_validate(
            {
                "sections": [
                    {
                        "title": "s",
                        "items": [{"id": f"i{n:02d}", "label": f"项目 {n}", "type": "pass_fail"} for n in range(items)],
                    }
                ]
            }
        )
        publish_template_version(db.session, template, definition, actor=None)
        for n in range(phones):
            create_user(
                db.session,
                username=f"phone{n:02d}",
                display_name=f"保洁员{n}",
                password="bench-pass",
                role=Role.CLEANER,
                sites=[site],
            )
        db.session.commit()
        return {
            "site_id": site.id,
            "location_id": restroom.id,
            "template_id": template.id,
            "items": items,
            "usernames": [f"phone{n:02d}" for n in range(phones)],
        }


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """gunicorn with several workers, killed outright and started again on demand."""

    def __init__(self, database_url: str, folder: Path, workers: int, photo_store: str = "") -> None:
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench",
            "PHOTO_DIR": str(folder / "photos"),  # its own, unused: photos go to the shared store
            "PHOTO_STORE": photo_store,
            "LOG_LEVEL": "WARNING",
        }
        self.workers = workers
        self.log_path = folder / "gunicorn.log"
        self.log = open(self.log_path, "ab")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
                "--graceful-timeout",
                "1",
                "webapp:create_app()",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self._healthy():
            assert self.process.poll() is None, "gunicorn exited; see gunicorn.log"
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz within 60 s"
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL to every process of the server: requests in flight die with it."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()
