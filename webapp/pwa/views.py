"""The installable app: service worker, manifest, offline shell pages, and the device token
that lets the phone's outbox use the sync API."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from foundation.base import utcnow
from foundation.roles import EVERYONE
from foundation.sessions import session_tag
from sync.tokens import device_for_token, issue_device_token
from webapp.access import roles_required, visible_site_ids
from webapp.assets import minified
from webapp.config import ROOT
from webapp.extensions import db
from webapp.pages import render

bp = Blueprint("pwa", __name__)

# What the service worker keeps for offline use, whoever is logged in.
SHELL_FILES = [
    "css/app.css",
    "js/store.js",
    "js/sync.js",
    "js/photos.js",
    "js/app.js",
    "js/checklist.js",
    "js/patrol.js",
    "vendor/htmx.min.js",
    "icons/icon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
]
# The QR decoder for phones without BarcodeDetector: 46 KB compressed, more than the rest of the
# app's script and style together, so only phones that walk rounds and lack the detector fetch it
# (patrol.js loads it; Today asks the service worker to keep it for offline use).
SCANNER_FILE = "vendor/jsQR.min.js"
SHELL_PAGES = ["pwa.offline", "pwa.outbox"]


def build_id() -> str:
    """A hash of the shell's files and the worker: a new build means a new cache."""
    cached = current_app.extensions.get("asset_build")
    if cached and not current_app.debug:
        return cached
    digest = hashlib.sha256()
    for name in [*SHELL_FILES, SCANNER_FILE, "sw.js"]:
        digest.update((ROOT / "static" / name).read_bytes())
    current_app.extensions["asset_build"] = digest.hexdigest()[:12]
    return current_app.extensions["asset_build"]


def asset(filename: str) -> str:
    """A static file's URL, carrying the build so a new build never reuses an old copy."""
    return url_for("static", filename=filename, v=build_id())


@bp.route("/sw.js")
def service_worker():
    """The service worker, from the site root so that it controls every page."""
    shell = [asset(name) for name in SHELL_FILES] + [url_for(page) for page in SHELL_PAGES]
    head = (
        f"const BUILD = {json.dumps(build_id())};\nconst SHELL = {json.dumps(shell)};\n"
        f"self.fieldKeepSentDays = {int(current_app.config['PHONE_KEEP_SENT_DAYS'])};\n"
    )
    body = (
        (ROOT / "static" / "sw.js").read_text() if current_app.debug else minified(ROOT / "static" / "sw.js").decode()
    )
    response = Response(head + body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


service_worker.allowed_roles = "public"


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest, named in the person's language."""
    return Response(
        json.dumps(
            {
                "name": "现场巡检 · Field checks",  # both languages: the home screen shows one name
                "short_name": _("Field checks"),
                "lang": "zh-CN",
                "start_url": url_for("field.today"),
                "scope": "/",
                "display": "standalone",
                "background_color": "#f3f5f4",
                "theme_color": "#0f5c4d",
                "icons": [
                    {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                    {
                        "src": asset("icons/icon-512.png"),
                        "sizes": "512x512",
                        "type": "image/png",
                        "purpose": "any maskable",
                    },
                    {"src": asset("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
                ],
            },
            ensure_ascii=False,
        ),
        mimetype="application/manifest+json",
    )


manifest.allowed_roles = "public"


@bp.route("/offline")
def offline():
    """Shown when a page is not on the phone and the network is out."""
    return render("pwa/offline.html", shell=True)


offline.allowed_roles = "public"


@bp.route("/outbox")
def outbox():
    """Everything this phone has recorded and not yet sent (read from the phone's storage)."""
    return render("pwa/outbox.html", shell=True)


outbox.allowed_roles = "public"


@bp.route("/install")
def install():
    """How to put the app on the home screen, on Android and on iPhone."""
    return render("pwa/install.html")


install.allowed_roles = "public"


@bp.route("/device-token", methods=["POST"])
@roles_required(EVERYONE)
def device_token():
    """The device token this browser syncs with, bound to this web session (logout or a revoked
    phone ends both). A phone that still holds a live token of this person sends it as Bearer
    and keeps it; otherwise it gets a new one (also usable offline later)."""
    web = g.web_session
    held = request.headers.get("Authorization", "")
    device = device_for_token(db.session, held[7:]) if held.startswith("Bearer ") else None
    token = None
    if device is None or device.user_id != current_user.id:
        device, token = issue_device_token(
            db.session, current_user, name="web", user_agent=request.headers.get("User-Agent", ""), now=utcnow()
        )
    if web.device is not None and web.device.id != device.id:
        # This browser asked again: the token it had before is lost (a request cut off by a
        # reload), so nobody should be able to use it.
        web.device.revoked_at = web.device.revoked_at or utcnow()
    web.device_id = device.id
    db.session.commit()
    return jsonify(
        token=token or held[7:],
        device_id=str(device.id),
        session=session_tag(web),
        user={
            "id": current_user.id,
            "username": current_user.username,
            "display_name": current_user.display_name,
            "role": current_user.role.value,
            "site_ids": visible_site_ids(current_user),
        },
    )
