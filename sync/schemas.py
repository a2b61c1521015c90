"""The JSON bodies of SYNC.md as pydantic models: they validate requests and make the OpenAPI document."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from foundation.photos import Sha256
from foundation.text import Line, line_of, name_of, text_of
from inspections.checklists import Section
from inspections.submission import AnswerIn, Geo, GeoStatus, Timestamp

MAX_MUTATIONS = 500


DB_INT_MAX = 2**31 - 1  # an id beyond what the database holds names nothing


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenRequest(Strict):
    username: line_of(64, min_length=1)
    password: Annotated[str, Field(min_length=1, max_length=200)]
    device_name: name_of(120, min_length=1)


class TokenUser(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    site_ids: list[int]


class TokenResponse(BaseModel):
    token: str
    device_id: uuid.UUID
    user: TokenUser


class PatrolScanIn(Strict):
    """``patrol.scan``: a checkpoint scanned on a round."""

    scan_id: uuid.UUID
    round_id: Line | None = None
    route_id: int
    checkpoint_id: int
    code: line_of(32, min_length=1)
    scanned_at: Timestamp
    # Since v1.2: the checkpoint checklist's version the phone showed (absent: the one in effect
    # at ``scanned_at``).
    template_version: Annotated[int, Field(ge=1, le=DB_INT_MAX)] | None = None
    answers: Annotated[list[AnswerIn], Field(max_length=100)] = []
    geo: Geo | None = None
    geo_status: GeoStatus | None = None


class TicketCreateIn(Strict):
    """``ticket.create``."""

    ticket_id: uuid.UUID
    kind: Literal["complaint", "repair", "violation", "hazard", "rework"]
    title: line_of(200, min_length=1)
    description: text_of(4000) = ""
    site_id: int
    location_id: int | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    photos: Annotated[list[Sha256], Field(max_length=20)] = []
    geo: Geo | None = None
    geo_status: GeoStatus | None = None


class TicketTransitionIn(Strict):
    """``ticket.transition``."""

    ticket_id: uuid.UUID
    to: Literal["new", "assigned", "in_progress", "resolved", "closed"]
    base_version: Annotated[int, Field(ge=1)]
    note: text_of(2000) = ""
    photos: Annotated[list[Sha256], Field(max_length=20)] = []


class TicketCommentIn(Strict):
    """``ticket.comment``."""

    ticket_id: uuid.UUID
    text: text_of(4000, min_length=1)
    photos: Annotated[list[Sha256], Field(max_length=20)] = []


class Mutation(Strict):
    id: uuid.UUID
    type: Annotated[str, Field(min_length=1, max_length=40)]  # one of sync.push.MUTATIONS; others are rejected
    payload: dict[str, Any]


class PushRequest(Strict):
    device_time: Timestamp
    mutations: Annotated[list[Mutation], Field(max_length=MAX_MUTATIONS)]


MAX_DRAFTS = 200


def _not_a_bool(value):
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    return value


# A JSON integer (1 or 1.0, as JSON Schema counts them) that a database row can have as its id.
RowId = Annotated[int, Field(ge=1, le=DB_INT_MAX), BeforeValidator(_not_a_bool)]


class OpenDraftIn(Strict):
    """A checklist being filled in on the device (extension: ``PUT /api/v1/sync/drafts``)."""

    inspection_id: uuid.UUID
    template_id: RowId
    template_version: RowId
    answered: Annotated[list[line_of(40)], Field(max_length=500)] = []  # item keys: no NUL reaches the database
    updated_at: Timestamp


class DraftsReport(Strict):
    """Every checklist under way on the device for its person; replaces the last report."""

    drafts: Annotated[list[OpenDraftIn], Field(max_length=MAX_DRAFTS)]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class MutationResult(BaseModel):
    id: uuid.UUID
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    entity: dict[str, Any] | None = None
    error: ErrorBody | None = None
    missing_photos: list[str] | None = None


class PushResponse(BaseModel):
    server_time: AwareDatetime
    results: list[MutationResult]


class ChangeOut(BaseModel):
    entity: str
    id: int | str
    op: Literal["upsert", "delete"]
    version: int
    data: dict[str, Any]


class UpcomingVersion(BaseModel):
    version: int
    effective_at: AwareDatetime
    sections: list[Section]


class TemplateData(BaseModel):
    """The ``data`` of a ``template`` change: the version new checks start on. Since v1.1 an item's
    type may be ``instruction`` and an item may carry ``show_if``; ``upcoming`` (an extension) is a
    version published to take effect at ``effective_at``, for a device to switch to by itself."""

    id: int
    site_id: int | None
    kind: str
    version: int
    title: str
    roles: list[str]
    area_type: str | None
    sections: list[Section]
    upcoming: UpcomingVersion | None = None


class PullResponse(BaseModel):
    cursor: str
    has_more: bool
    server_time: AwareDatetime
    # Since v1.2: the person's scope changed; these changes start from the beginning and the
    # device replaces its whole copy with them (and the pages that follow).
    reset: bool | None = None
    changes: list[ChangeOut]


class ErrorResponse(BaseModel):
    error: ErrorBody


class PhotoStored(BaseModel):
    sha256: str
    stored: bool


Base64Url = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+={0,2}$")]


class PushKeys(Strict):
    p256dh: Annotated[Base64Url, Field(min_length=80, max_length=200)]  # the phone's P-256 public key
    auth: Annotated[Base64Url, Field(min_length=16, max_length=100)]  # its 16-byte secret


class PushSubscriptionIn(Strict):
    """A browser's PushSubscription (its toJSON()), for this device (an extension of SYNC.md)."""

    endpoint: Annotated[str, Field(min_length=10, max_length=1000, pattern=r"^https?://")]
    keys: PushKeys
    expirationTime: int | None = None  # noqa: N815 (the browser's name)


class PushKey(BaseModel):
    public_key: str  # the server's VAPID key, base64url: PushManager.subscribe's applicationServerKey
