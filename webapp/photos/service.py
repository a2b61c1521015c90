"""The web side of photo ingest: the app's store and limits, the person's site time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from foundation.org import User
from foundation.photos import Photo, ingest_photo
from webapp import photo_store
from webapp.extensions import db


def ingest(data: bytes, user: User, expected_sha256: str | None = None) -> tuple[Photo, bool]:
    tz = ZoneInfo(user.sites[0].timezone) if user.sites else ZoneInfo("UTC")
    return ingest_photo(
        db.session,
        photo_store.store(),
        data,
        limits=photo_store.limits(),
        uploaded_by=user,
        local_tz=tz,
        expected_sha256=expected_sha256,
    )
