"""The JSON API of SYNC.md, under /api/. Bearer tokens, no cookies, so no CSRF."""

from __future__ import annotations

import json
import math
import re
from functools import wraps
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from foundation.base import hold_lock, utcnow
from foundation.memory import collector_paused
from foundation.people import authenticate, login_wait
from foundation.photos import PhotoRefused, is_sha256
from foundation.roles import Role
from foundation.web_push import public_key, subscribe, unsubscribe
from inspections.authoring import report_open_drafts
from inspections.photo_reach import photos_arrived, photos_within_reach
from sync.changes import CURSOR_PATTERN, PullCursor, head, read_cursor
from sync.entities import pull, scope_of
from sync.openapi import openapi_document
from sync.push import apply_push
from sync.schemas import MAX_MUTATIONS, DraftsReport, PushRequest, PushSubscriptionIn, TokenRequest
from sync.tokens import device_for_token, issue_device_token, revoke_device
from tickets.webhooks import AddressRules, WebhookRefused, resolve
from webapp.access import visible_site_ids
from webapp.extensions import csrf, db
from webapp.pages import writes_on_get
from webapp.photos import service as photo_service

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details=None, headers: dict | None = None) -> None:
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, details=None) -> Response:
    response = jsonify(error={"code": code, "message": message, "details": details})
    response.status_code = status
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = error_response(error.status, error.code, error.message, error.details)
    response.headers.update(error.headers)
    return response


def raw_json():
    """The request's JSON as Python values: 400 if it is not JSON, nests deeper than the
    parser's recursion limit (some 1,000 levels) or holds an integer of more than 4,300 digits
    (Python's limit, checked before the digits are converted)."""
    try:
        return json.loads(request.get_data(cache=False) or b"")
    except RecursionError:
        raise ApiError(400, "malformed_json", "the body nests too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:  # JSONDecodeError is a ValueError too
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {error}") from None


def json_body(model: type[BaseModel], raw=None):
    """The request's JSON, validated by ``model``: 400 if it is not JSON, 422 if it does not fit."""
    raw = raw_json() if raw is None else raw
    try:
        return model.model_validate(raw)
    except ValidationError as invalid:
        raise ApiError(
            422,
            "invalid_body",
            "the body does not fit the schema",
            invalid.errors(include_url=False, include_context=False, include_input=False),
        ) from None


def token_required(view):
    """Authenticate the device by its bearer token; 401 for a missing, unknown or revoked one."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        device = device_for_token(db.session, token.strip()) if scheme.lower() == "bearer" and token else None
        if device is None:
            raise ApiError(401, "unauthorized", "a valid device token is required")
        g.device, g.api_user = device, device.user
        return view(*args, **kwargs)

    wrapped.allowed_roles = frozenset(Role)  # any role with a live device token
    return wrapped


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI document of this API, generated from the models that validate it."""
    return jsonify(openapi_document())


openapi.allowed_roles = "public"


@bp.route("/v1/auth/token", methods=["POST"])
def create_token():
    """Log a device in: username and password for a device token."""
    body = json_body(TokenRequest)
    now = utcnow()
    wait = login_wait(db.session, body.username, request.remote_addr, now)
    if wait is not None:
        seconds = math.ceil(wait.total_seconds())
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed logins; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    user = authenticate(db.session, body.username, body.password, request.remote_addr, now)
    if user is None:
        db.session.commit()
        raise ApiError(401, "wrong_credentials", "wrong username or password")
    device, token = issue_device_token(
        db.session, user, name=body.device_name, user_agent=request.headers.get("User-Agent", ""), now=now
    )
    db.session.commit()
    return jsonify(
        token=token,
        device_id=str(device.id),
        user={
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "site_ids": visible_site_ids(user),
        },
    ), 201


create_token.allowed_roles = "public"


@bp.route("/v1/auth/token", methods=["DELETE"])
@token_required
def delete_token():
    """Revoke the caller's own token."""
    revoke_device(db.session, g.device, now=utcnow())
    db.session.commit()
    return Response(status=204)


@bp.route("/v1/sync/push", methods=["POST"])
@token_required
def push():
    """Apply a batch of mutations, each once, in order."""
    with collector_paused():
        raw = raw_json()
        if isinstance(raw, dict) and isinstance(raw.get("mutations"), list) and len(raw["mutations"]) > MAX_MUTATIONS:
            raise ApiError(413, "too_many_mutations", f"a batch holds at most {MAX_MUTATIONS} mutations")
        batch = json_body(PushRequest, raw)
        now = utcnow()
        results = apply_push(db.session, batch, user=g.api_user, device=g.device, now=now)
        db.session.commit()
    return jsonify(server_time=now.isoformat(), results=results)


@bp.route("/v1/sync/pull")
@token_required
@writes_on_get
def pull_changes():
    """What changed since the cursor, for this person's sites and role. ``from=now`` (an
    extension of SYNC.md) answers no changes and the cursor of now: a device that keeps no copy
    (the phone) starts there instead of downloading its sites' history."""
    if request.args.get("from") not in (None, "now"):
        raise ApiError(400, "bad_from", "from is either absent or now")
    raw_cursor = request.args.get("cursor", "")
    if raw_cursor and not re.fullmatch(CURSOR_PATTERN, raw_cursor, re.ASCII):
        raise ApiError(400, "bad_cursor", "that cursor was not made by this server")
    cursor = read_cursor(raw_cursor)
    raw_limit = request.args.get("limit", "200")
    limit = int(raw_limit) if re.fullmatch(r"[0-9]{1,4}", raw_limit) else 0
    if not 1 <= limit <= 1000:
        raise ApiError(400, "bad_limit", "limit is a number from 1 to 1000")
    now = utcnow()
    site_ids = visible_site_ids(g.api_user)
    scope = scope_of(g.api_user, site_ids)
    reset = cursor.scope is not None and cursor.scope != scope  # sites, role or department changed
    if reset:
        cursor = PullCursor()
    if request.args.get("from") == "now":
        changes, position, has_more = [], head(db.session), False
        cursor, reset = PullCursor(fresh=False), False
    else:
        changes, position, has_more = pull(db.session, g.api_user, site_ids, cursor.position, limit, fresh=cursor.fresh)
    g.device.last_seen_at = now
    db.session.commit()
    after = PullCursor(position, scope, fresh=cursor.fresh and has_more)
    body = {"cursor": after.text(), "has_more": has_more, "server_time": now.isoformat()}
    return jsonify(**body, **({"reset": True} if reset else {}), changes=changes)


@bp.route("/v1/sync/drafts", methods=["PUT"])
@token_required
def report_drafts():
    """The checklists under way on this device (an extension of SYNC.md): what a checklist's
    author sees before publishing a change. Replaces the device's last report."""
    body = json_body(DraftsReport)
    report_open_drafts(db.session, device_id=g.device.id, user=g.api_user, drafts=body.drafts, now=utcnow())
    db.session.commit()
    return Response(status=204)


@bp.route("/v1/push/key")
@token_required
def push_key():
    """The server's VAPID public key, for the phone to subscribe with (an extension of SYNC.md)."""
    path = Path(current_app.config["VAPID_KEY_FILE"])
    if not path.exists():
        raise ApiError(404, "push_unavailable", "this server has no push key (flask push keys makes it)")
    return jsonify(public_key=public_key(path))


@bp.route("/v1/push/subscription", methods=["PUT"])
@token_required
def push_subscribe():
    """This device's Web Push subscription; it ends with the device's token."""
    body = json_body(PushSubscriptionIn)
    try:
        resolve(body.endpoint, AddressRules.from_settings(current_app.config))
    except WebhookRefused as refused:
        raise ApiError(403, "push_endpoint_refused", f"the server does not send there: {refused}") from None
    subscribe(db.session, g.device, endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth, now=utcnow())
    db.session.commit()
    return Response(status=204)


@bp.route("/v1/push/subscription", methods=["DELETE"])
@token_required
def push_unsubscribe():
    unsubscribe(db.session, g.device)
    db.session.commit()
    return Response(status=204)


@bp.route("/v1/photos/<sha256>", methods=["HEAD"])
@token_required
def photo_exists(sha256: str):
    """200 if the server has the photo for this person, 404 if not, so the device can skip an
    upload. Another person's photo is 404: the hash alone grants nothing (upload the bytes)."""
    found = is_sha256(sha256) and sha256 in photos_within_reach(db.session, g.api_user, [sha256])
    return Response(status=200 if found else 404)


@bp.route("/v1/photos/<sha256>", methods=["PUT"])
@token_required
def photo_upload(sha256: str):
    """Store the photo whose SHA-256 is its name: 201 new, 200 already there."""
    if not is_sha256(sha256):
        raise ApiError(400, "bad_photo_name", "the name must be the lowercase hex SHA-256 of the bytes")
    if request.mimetype not in PHOTO_TYPES:
        raise ApiError(415, "photo_unsupported_type", "send image/jpeg, image/png or image/webp")
    limit = current_app.config["PHOTO_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "photo_too_large", f"photos are limited to {limit} bytes")
    user, local_tz = g.api_user, photo_service.local_tz(g.api_user)
    # The slow part with no transaction open: the one that checked the token ends here (on
    # SQLite it holds the write lock), and the one that stores the photo begins after.
    db.session.commit()
    try:
        prepared = photo_service.prepare(request.get_data(cache=False), local_tz, expected_sha256=sha256)
    except PhotoRefused as refused:
        raise ApiError(refused.status, refused.code, refused.message) from None
    hold_lock(db.session, "photos_of_person", user.id)  # before the photo is stored: photos_owed
    photo, created = photo_service.keep(prepared, user)
    stored_as = photo.sha256  # read before the commit expires it: no second transaction to answer
    photos_arrived(db.session, g.api_user)
    db.session.commit()
    return jsonify(sha256=stored_as, stored=True), 201 if created else 200
