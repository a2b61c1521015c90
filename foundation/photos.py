"""Photos as evidence: verified and re-encoded with Pillow, stored by the SHA-256 of
the bytes received, behind a small storage interface that an object store can implement.

Three files per photo: the original bytes (the evidence, never altered), a display copy
(EXIF orientation applied, every EXIF field stripped) and a thumbnail for lists.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Protocol
from urllib.parse import urlsplit

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from pydantic import Field
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.base import Base, insert_if_absent, utcnow
from foundation.org import User

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
DISPLAY_LONGEST_SIDE = 1600
THUMB_LONGEST_SIDE = 320


class Photo(Base):
    __tablename__ = "photo"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # of the original bytes
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    byte_size: Mapped[int] = mapped_column()
    captured_at: Mapped[datetime | None] = mapped_column()  # from EXIF, when the camera wrote it
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class PhotoHolder(Base):
    """Someone who sent these bytes themselves: proof that they have the photo. Knowing a hash
    proves nothing; only a holder's citation lets a record show a photo (``photo_reach``)."""

    __tablename__ = "photo_holder"

    photo_sha256: Mapped[str] = mapped_column(ForeignKey("photo.sha256", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoRefused(Exception):
    """An upload that is not a safe image. ``code`` is stable; the message is for logs."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    max_pixels: int


class PhotoStore(Protocol):
    """Where photo files live. Names are relative, e.g. ``original/ab/ab12…``, and name their
    content (its hash): ``put`` of a name already there keeps the file there, never rewritten.
    ``get`` of a missing name raises FileNotFoundError."""

    def put(self, name: str, data: bytes) -> None: ...
    def get(self, name: str) -> bytes: ...
    def exists(self, name: str) -> bool: ...


class LocalPhotoStore:
    """Photos on a local disk (the embedded default); writes are atomic so a reader never sees
    half a file."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"photo name escapes the store: {name!r}")
        return path

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        if path.is_file():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()


class S3PhotoStore:
    """Photos in an S3-compatible object store, shared by every app server: ``s3://bucket/prefix``.
    ``client`` is a boto3 S3 client (endpoint and keys from boto3's own environment variables)."""

    def __init__(self, client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_url(cls, url: str) -> S3PhotoStore:
        import boto3
        from botocore.config import Config

        parsed = urlsplit(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3://bucket/prefix address: {url!r}")
        # Path-style addressing: what S3-compatible servers (SeaweedFS, MinIO) answer without DNS.
        config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 5})
        return cls(boto3.client("s3", config=config), parsed.netloc, parsed.path)

    def _key(self, name: str) -> str:
        if not re.fullmatch(r"[a-z]+/[0-9a-f]{2}/[0-9a-f]{64}(\.jpg)?", name):
            raise ValueError(f"not a photo name: {name!r}")
        return self.prefix + name

    def put(self, name: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            # If-None-Match: the store itself refuses to replace a file; the first copy stays.
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, IfNoneMatch="*")
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise

    def get(self, name: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise FileNotFoundError(name) from None
            raise

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return False
            raise


def original_name(sha256: str) -> str:
    return f"original/{sha256[:2]}/{sha256}"


def display_name(sha256: str) -> str:
    return f"display/{sha256[:2]}/{sha256}.jpg"


def thumb_name(sha256: str) -> str:
    return f"thumb/{sha256[:2]}/{sha256}.jpg"


# The one rule for a photo reference, wherever one arrives (API, forms, hidden fields): the
# lowercase hex SHA-256 of the bytes. Nothing else is stored as one, so none can name a path.
SHA256_PATTERN = r"^[0-9a-f]{64}$"
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN)]


def is_sha256(text: object) -> bool:
    return isinstance(text, str) and re.fullmatch(SHA256_PATTERN, text) is not None


@dataclass(frozen=True)
class PreparedPhoto:
    """An upload checked, decoded and re-encoded: everything but storing it."""

    sha256: str
    data: bytes
    content_type: str
    width: int
    height: int
    captured_at: datetime | None
    display: bytes
    thumb: bytes


def prepare_photo(
    data: bytes, *, limits: PhotoLimits, local_tz: tzinfo = UTC, expected_sha256: str | None = None
) -> PreparedPhoto:
    """Verify, decode and re-encode an uploaded image, touching neither database nor store (the
    slow part of an upload: done before its request writes anything, so no transaction waits on
    it). ``local_tz`` reads the camera's capture time when the file does not say its offset."""
    if len(data) > limits.max_bytes:
        raise PhotoRefused("photo_too_large", f"{len(data)} bytes is over {limits.max_bytes}", 413)
    sha256 = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and expected_sha256 != sha256:
        raise PhotoRefused("photo_hash_mismatch", "the bytes do not match the name", 400)
    image, content_type, captured_at = _decode(data, limits, local_tz)
    try:
        display = _jpeg(image, DISPLAY_LONGEST_SIDE)
        thumb = _jpeg(image, THUMB_LONGEST_SIDE)
        width, height = image.size
    finally:
        image.close()
    return PreparedPhoto(sha256, data, content_type, width, height, captured_at, display, thumb)


def keep_photo(session: Session, store: PhotoStore, prepared: PreparedPhoto, *, uploaded_by: User | None):
    """Store a prepared photo and its row. Returns the photo and whether it is new. Two servers
    keeping the same bytes at once both succeed: the files are content-addressed and the row is
    inserted only if absent."""
    sha256 = prepared.sha256
    existing = session.get(Photo, sha256)
    if existing is not None:
        _hold(session, sha256, uploaded_by)  # the same bytes again: this sender has them too
        return existing, False
    store.put(original_name(sha256), prepared.data)
    store.put(display_name(sha256), prepared.display)
    store.put(thumb_name(sha256), prepared.thumb)
    inserted = insert_if_absent(
        session,
        Photo,
        sha256=sha256,
        content_type=prepared.content_type,
        width=prepared.width,
        height=prepared.height,
        byte_size=len(prepared.data),
        captured_at=prepared.captured_at,
        uploaded_at=utcnow(),
        uploaded_by_id=uploaded_by.id if uploaded_by else None,
    )
    _hold(session, sha256, uploaded_by)
    return session.get(Photo, sha256), inserted


def ingest_photo(
    session: Session,
    store: PhotoStore,
    data: bytes,
    *,
    limits: PhotoLimits,
    uploaded_by: User | None,
    local_tz: tzinfo = UTC,
    expected_sha256: str | None = None,
) -> tuple[Photo, bool]:
    """Prepare and keep an upload. Everything is checked before anything is written, so a
    refused upload stores nothing."""
    prepared = prepare_photo(data, limits=limits, local_tz=local_tz, expected_sha256=expected_sha256)
    return keep_photo(session, store, prepared, uploaded_by=uploaded_by)


def _hold(session: Session, sha256: str, sender: User | None) -> None:
    if sender is not None:
        insert_if_absent(session, PhotoHolder, photo_sha256=sha256, user_id=sender.id, at=utcnow())


def _decode(data: bytes, limits: PhotoLimits, local_tz: tzinfo) -> tuple[Image.Image, str, datetime | None]:
    """Open, bound and fully decode the image; return it upright, with its type and capture time."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; our limit is the one that counts.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in CONTENT_TYPES:
                    raise PhotoRefused("photo_unsupported_type", f"{probe.format} is not accepted", 415)
                if probe.width * probe.height > limits.max_pixels:
                    raise PhotoRefused("photo_too_many_pixels", f"{probe.width}x{probe.height} is too many pixels")
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()  # a truncated or corrupt file fails here, not later
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("photo_too_many_pixels", "decompression bomb") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoRefused("photo_not_an_image", f"cannot decode: {exc}", 415) from None
    content_type = CONTENT_TYPES[image.format]
    captured_at = _capture_time(image, local_tz)
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode not in ("RGB", "L"):
        converted = _on_white(image)
        image.close()
        image = converted
    # The copies carry nothing of the upload but its pixels and colours: no comment, EXIF or XMP
    # (the original keeps them, for whoever may download it).
    image.info = {key: image.info[key] for key in ("icc_profile",) if key in image.info}
    return image, content_type, captured_at


def _on_white(image: Image.Image) -> Image.Image:
    """RGB, with anything transparent laid on white: a signature is dark strokes on a transparent
    canvas, and dropping the alpha channel made it a black box."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _capture_time(image: Image.Image, local_tz: tzinfo) -> datetime | None:
    """The camera's DateTimeOriginal, read in its OffsetTimeOriginal or else in ``local_tz``."""
    exif = image.getexif()
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    raw = exif_ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not isinstance(raw, str):
        return None
    offset = exif_ifd.get(ExifTags.Base.OffsetTimeOriginal)
    try:
        taken = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        if isinstance(offset, str) and offset.strip("\x00 "):
            return datetime.strptime(f"{taken:%Y-%m-%dT%H:%M:%S}{offset.strip(chr(0) + ' ')}", "%Y-%m-%dT%H:%M:%S%z")
        return taken.replace(tzinfo=local_tz)
    except ValueError:
        return None


def _jpeg(image: Image.Image, longest_side: int) -> bytes:
    if max(image.size) > longest_side:
        scale = longest_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # reducing_gap 1: a fast box reduction to about the size, then Lanczos for the last step;
        # for a thumbnail that looks the same and takes a fraction of the time.
        copy = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.0)
    else:
        copy = image  # already small enough (the phone downscales to about 1600 px)
    out = io.BytesIO()
    # No exif= argument: nothing is carried over. No optimize=True: it halves encoding speed
    # for a file a few percent smaller.
    copy.save(out, "JPEG", quality=82)
    if copy is not image:
        copy.close()
    return out.getvalue()


def stamp(display_jpeg: bytes, lines: list[str], font_path: str | os.PathLike) -> bytes:
    """The display copy with a visible stamp in its lower left corner, as site watermark cameras
    draw it (time, site, unit, inspector). A new file: the original and its hash are untouched."""
    from PIL import ImageDraw, ImageFont

    with Image.open(io.BytesIO(display_jpeg)) as opened:
        image = opened.convert("RGB")
    size = max(14, image.width // 36)
    font = ImageFont.truetype(str(font_path), size)
    draw = ImageDraw.Draw(image, "RGBA")
    pad, gap = size // 2, size // 4
    heights = [draw.textbbox((0, 0), line, font=font)[3] for line in lines]
    box_height = sum(heights) + gap * (len(lines) - 1) + 2 * pad
    box_width = max(draw.textlength(line, font=font) for line in lines) + 2 * pad
    top = image.height - box_height - pad
    draw.rectangle((pad, top, pad + box_width, top + box_height), fill=(0, 0, 0, 150))
    y = top + pad
    for line, height in zip(lines, heights):
        draw.text((2 * pad, y), line, font=font, fill=(255, 214, 0))
        y += height + gap
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
