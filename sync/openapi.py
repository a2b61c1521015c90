"""The OpenAPI 3.1 document of the sync API, generated from the pydantic models that validate it."""

from __future__ import annotations

from functools import cache

from pydantic.json_schema import models_json_schema

from sync.changes import CURSOR_PATTERN
from sync.push import MUTATIONS
from sync.schemas import (
    DraftsReport,
    ErrorResponse,
    PhotoStored,
    PullResponse,
    PushKey,
    PushRequest,
    PushResponse,
    PushSubscriptionIn,
    TemplateData,
    TokenRequest,
    TokenResponse,
)

REF = "#/components/schemas/{model}"


def _json(model: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


def _errors(*statuses: int) -> dict:
    # 503: the database is not answering (Retry-After says when to try again); nothing was changed.
    return {str(s): {"description": "error", **_json("ErrorResponse")} for s in (*statuses, 503)}


@cache
def openapi_document() -> dict:
    models = [
        TokenRequest,
        TokenResponse,
        PushRequest,
        PushResponse,
        PullResponse,
        ErrorResponse,
        PhotoStored,
        TemplateData,
        DraftsReport,
        PushKey,
        PushSubscriptionIn,
        *(m.payload for m in MUTATIONS.values()),
    ]
    _, schema = models_json_schema(
        [
            (m, "validation" if m in (TokenRequest, PushRequest, DraftsReport, PushSubscriptionIn) else "serialization")
            for m in models
        ],
        ref_template=REF,
    )
    bearer = [{"bearer": []}]
    photo_param = [
        {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Field checks sync API",
            "version": "1.2",
            "description": "The sync contract (SYNC.md, v1.2). A `template` change's `data` is a TemplateData. "
            "Mutation payloads by type: "
            + ", ".join(f"`{t}` → {m.payload.__name__}" for t, m in MUTATIONS.items())
            + ".",
        },
        "components": {
            "schemas": schema["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/auth/token": {
                "post": {
                    "summary": "Get a device token",
                    "operationId": "createToken",
                    "requestBody": {"required": True, **_json("TokenRequest")},
                    "responses": {
                        "201": {"description": "token issued", **_json("TokenResponse")},
                        **_errors(400, 401, 422, 429),
                    },
                },
                "delete": {
                    "summary": "Revoke the caller's token",
                    "operationId": "deleteToken",
                    "security": bearer,
                    "responses": {"204": {"description": "revoked"}, **_errors(401)},
                },
            },
            "/api/v1/sync/push": {
                "post": {
                    "summary": "Push mutations (at most 500)",
                    "operationId": "push",
                    "security": bearer,
                    "requestBody": {"required": True, **_json("PushRequest")},
                    "responses": {
                        "200": {"description": "one result per mutation", **_json("PushResponse")},
                        **_errors(400, 401, 413, 422),
                    },
                },
            },
            "/api/v1/sync/pull": {
                "get": {
                    "summary": "Pull changes after a cursor",
                    "operationId": "pull",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "description": "opaque: pass back the cursor of the last pull",
                            "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                        {
                            "name": "from",
                            "in": "query",
                            "required": False,
                            "description": "extension: `now` answers no changes and the cursor of now (the "
                            "cursor is then ignored), for a device that keeps no copy and wants only "
                            "what changes from here on",
                            "schema": {"type": "string", "enum": ["now"]},
                        },
                    ],
                    "responses": {"200": {"description": "changes", **_json("PullResponse")}, **_errors(400, 401)},
                },
            },
            "/api/v1/sync/drafts": {
                "put": {
                    "summary": "Report the checklists under way on this device (extension)",
                    "description": "Replaces the device's last report; a checklist's author sees how many "
                    "are under way before publishing a change.",
                    "operationId": "reportDrafts",
                    "security": bearer,
                    "requestBody": {"required": True, **_json("DraftsReport")},
                    "responses": {"204": {"description": "recorded"}, **_errors(400, 401, 413, 422)},
                },
            },
            "/api/v1/push/key": {
                "get": {
                    "summary": "The server's Web Push (VAPID) public key (extension)",
                    "operationId": "pushKey",
                    "security": bearer,
                    "responses": {"200": {"description": "the key", **_json("PushKey")}, **_errors(401, 404)},
                },
            },
            "/api/v1/push/subscription": {
                "put": {
                    "summary": "This device's Web Push subscription (extension)",
                    "description": "Replaces the device's last one. It ends with the device token: logout, "
                    "revocation, a password reset.",
                    "operationId": "pushSubscribe",
                    "security": bearer,
                    "requestBody": {"required": True, **_json("PushSubscriptionIn")},
                    "responses": {"204": {"description": "subscribed"}, **_errors(400, 401, 403, 413, 422)},
                },
                "delete": {
                    "summary": "Stop pushes to this device (extension)",
                    "operationId": "pushUnsubscribe",
                    "security": bearer,
                    "responses": {"204": {"description": "no more pushes"}, **_errors(401)},
                },
            },
            "/api/v1/photos/{sha256}": {
                "head": {
                    "summary": "Is this photo stored?",
                    "operationId": "photoExists",
                    "security": bearer,
                    "parameters": photo_param,
                    "responses": {
                        "200": {"description": "stored"},
                        "404": {"description": "not stored"},
                        "401": {"description": "no valid token"},
                        "503": {"description": "the database is not answering"},
                    },
                },
                "put": {
                    "summary": "Upload a photo named by its SHA-256",
                    "operationId": "photoUpload",
                    "security": bearer,
                    "parameters": photo_param,
                    "requestBody": {
                        "required": True,
                        "content": {
                            t: {"schema": {"type": "string", "format": "binary"}}
                            for t in ("image/jpeg", "image/png", "image/webp")
                        },
                    },
                    "responses": {
                        "200": {"description": "already stored", **_json("PhotoStored")},
                        "201": {"description": "stored", **_json("PhotoStored")},
                        # 404: a name with a control character is no route at all (as on every page).
                        **_errors(400, 401, 404, 413, 415, 422),
                    },
                },
            },
        },
    }
