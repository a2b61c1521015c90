"""A push service stand-in (what FCM, Mozilla's autopush or Apple's service are to a phone): it
accepts RFC 8030 message requests, checks the VAPID JWT (RFC 8292) against the key the request
names, decrypts the RFC 8291 payload with the subscriber's private key (``http_ece``) and keeps
what it received, so a test sees exactly what the phone would be handed."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Phone:
    """A browser's push subscription: its endpoint at the stand-in and its keys."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    status: int = 201  # what the service answers for it (410: the browser dropped it)

    def subscription(self) -> dict:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}


@dataclass
class Received:
    endpoint: str
    ttl: int
    vapid_key: str  # the application server key the JWT was signed with
    claims: dict
    message: dict  # the decrypted payload
    at: float  # time.perf_counter() when it arrived


@dataclass
class PushService:
    phones: dict[str, Phone] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why requests were refused
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> PushService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, why = service._take(self.path, self.headers, body)
                if why:
                    with service._changed:
                        service.refused.append(why)
                        service._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def new_phone(self) -> Phone:
        phone = Phone(
            f"{self.base}/push/{b64url(os.urandom(12))}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )
        self.phones[phone.endpoint] = phone
        return phone

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.received) >= count, timeout), (self.received, self.refused)
            return list(self.received)

    def _take(self, path: str, headers, body: bytes) -> tuple[int, str]:  # headers: any case
        phone = self.phones.get(self.base + path)
        if phone is None:
            return 404, ""
        try:
            key, claims = _vapid(headers.get("Authorization", ""), self.base)
        except (ValueError, InvalidSignature) as error:
            return 401, f"VAPID: {error}"
        if headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in headers:
            return 400, "not an RFC 8291 message with a TTL"
        if phone.status >= 300:
            return phone.status, ""
        plain = http_ece.decrypt(body, private_key=phone.private_key, auth_secret=phone.auth, version="aes128gcm")
        with self._changed:
            received = Received(
                phone.endpoint, int(headers["TTL"]), key, claims, json.loads(plain), time.perf_counter()
            )
            self.received.append(received)
            self._changed.notify_all()
        return 201, ""


def _vapid(header: str, audience: str) -> tuple[str, dict]:
    """RFC 8292: ``vapid t=<JWT>, k=<key>``; the JWT is ES256-signed by that key, for this
    service's origin, not expired, with a contact."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"scheme {scheme!r}")
    parts = dict(p.strip().split("=", 1) for p in rest.split(","))
    token, key = parts["t"], parts["k"]
    head, payload, signature = token.split(".")
    if json.loads(unb64url(head)).get("alg") != "ES256":
        raise ValueError("not ES256")
    raw = unb64url(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(payload))
    if claims.get("aud") != audience:
        raise ValueError(f"aud {claims.get('aud')!r} is not {audience!r}")
    if not time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600:
        raise ValueError("exp")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError("sub")
    return key, claims
