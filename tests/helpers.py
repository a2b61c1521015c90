"""Small builders shared by the tests."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from PIL import Image

from foundation.org import Location, Site
from inspections.checklists import ChecklistTemplate, current_version
from inspections.records import Assignment
from inspections.submission import InspectionSubmission
from sync.changes import changes_since
from sync.models import Change
from webapp.extensions import db

NOW = datetime(2026, 11, 26, 2, 30, tzinfo=timezone.utc)  # 10:30 in Shanghai


def jpeg_bytes(size=(640, 480), color="red", exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    if exif is not None:
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def noise_jpeg_bytes(size=(1600, 1200)) -> bytes:
    """A photo that stays large however it is encoded: every pixel different."""
    out = io.BytesIO()
    Image.effect_noise(size, 120).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def template(key_title: str) -> ChecklistTemplate:
    return db.session.scalar(sa.select(ChecklistTemplate).where(ChecklistTemplate.title == key_title))


def restroom_template() -> ChecklistTemplate:
    return template("清洁标准：卫生间")


def area(site_code: str, area_type: str) -> Location:
    return db.session.scalars(
        sa.select(Location)
        .join(Site)
        .where(Site.code == site_code, Location.area_type == area_type)
        .order_by(Location.id)
    ).first()


def all_pass(tpl: ChecklistTemplate) -> list[dict]:
    return [{"item_id": item.id, "value": "pass"} for item in current_version(db.session, tpl).parsed().items()]


def submission(tpl: ChecklistTemplate, location: Location, answers: list[dict], **extra) -> InspectionSubmission:
    return InspectionSubmission.model_validate(
        {
            "inspection_id": str(uuid.uuid4()),
            "template_id": tpl.id,
            "template_version": tpl.current_version,
            "site_id": location.site_id,
            "location_id": location.id,
            "started_at": (NOW - timedelta(minutes=6)).isoformat(),
            "finished_at": NOW.isoformat(),
            "answers": answers,
            **extra,
        }
    )


def with_answer(answers: list[dict], item_id: str, **changes) -> list[dict]:
    return [{**a, **changes} if a["item_id"] == item_id else a for a in answers]


def assignment_of(username_id: int, tpl: ChecklistTemplate) -> Assignment:
    return db.session.scalars(
        sa.select(Assignment)
        .where(Assignment.assignee_id == username_id, Assignment.template_id == tpl.id)
        .order_by(Assignment.due_on)
    ).first()


def newest_cursor(session) -> tuple[int, int]:
    """Where a phone that pulled everything logged so far is."""
    last = session.execute(sa.select(Change.xact_id, Change.seq).order_by(Change.xact_id.desc(), Change.seq.desc()))
    return tuple(last.first() or (0, 0))


def logged_after(session, cursor, site) -> set[tuple[str, str]]:
    """What a phone of ``site`` pulls after ``cursor``: (entity, id)."""
    return {(c.entity, c.entity_id) for c in changes_since(session, cursor, [site.id], 100_000)}
