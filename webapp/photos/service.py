"""The web side of photo ingest: the app's store and limits, the person's site time zone."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from foundation.org import User
from foundation.photos import Photo, PreparedPhoto, keep_photo, prepare_photo
from webapp import photo_store
from webapp.extensions import db


def prepare(data: bytes, local_tz: tzinfo, expected_sha256: str | None = None) -> PreparedPhoto:
    """Check, decode and re-encode an upload: no database, no store."""
    return prepare_photo(data, limits=photo_store.limits(), local_tz=local_tz, expected_sha256=expected_sha256)


def local_tz(user: User) -> tzinfo:
    """Where a camera's clock without an offset was: the sender's (first) site."""
    return ZoneInfo(user.sites[0].timezone) if user.sites else ZoneInfo("UTC")


def keep(prepared: PreparedPhoto, user: User) -> tuple[Photo, bool]:
    return keep_photo(db.session, photo_store.store(), prepared, uploaded_by=user)


def ingest(data: bytes, user: User) -> tuple[Photo, bool]:
    """A photo attached to a form: prepared, then kept in the form's transaction."""
    return keep(prepare(data, local_tz(user)), user)
