"""Configuration: defaults, then environment variables, parsed strictly and read once."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    pass


def parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def parse_int(name: str, raw: str, minimum: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below {minimum}")
    return value


def parse_networks(name: str, raw: str) -> tuple:
    """``10.1.0.0/16, 127.0.0.1``: the networks named, each as ``ipaddress`` reads it."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as error:
        raise ConfigError(f"{name}={raw!r}: {error}") from None


# name → (default, parser); every setting the app reads from the environment.
SETTINGS = {
    "DATABASE_URL": (f"sqlite:///{ROOT / 'instance' / 'fieldcheck.db'}", str),
    "SECRET_KEY": (None, str),
    "PHOTO_DIR": (str(ROOT / "instance" / "photos"), str),
    # Empty: photos in PHOTO_DIR on this machine. ``s3://bucket/prefix``: an S3-compatible object
    # store that every app server shares (endpoint and keys: boto3's AWS_ENDPOINT_URL,
    # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
    "PHOTO_STORE": ("", str),
    "PHOTO_MAX_BYTES": (15 * 1024 * 1024, parse_int),
    "PHOTO_MAX_PIXELS": (40_000_000, parse_int),
    "MAX_FORM_BYTES": (64 * 1024 * 1024, parse_int),
    # Uploaded spreadsheets (imports of places, people, tenants; XLSForm checklists): refused
    # before a cell is read when larger (docs/SECURITY.md).
    "SHEET_MAX_BYTES": (5_000_000, parse_int),
    "SHEET_MAX_ROWS": (20_000, parse_int),
    "SHEET_MAX_COLUMNS": (50, parse_int),
    "SHEET_MAX_UNPACKED_BYTES": (50_000_000, parse_int),
    "XLSFORM_MAX_ROWS": (2_000, parse_int),
    "SESSION_COOKIE_SECURE": (False, parse_bool),
    # Reverse proxies in front of the app (TLS terminated there): their X-Forwarded-For/-Proto
    # are trusted, so the client's address and https are seen (lock-out, HSTS, secure cookies).
    "PROXY_HOPS": (0, parse_int),
    "LOG_LEVEL": ("INFO", str),
    # How long a phone keeps a sent record (and its receipt) to show; then it is deleted there.
    "PHONE_KEEP_SENT_DAYS": (7, parse_int),
    # PostgreSQL: the longest a statement may run, and a transaction may sit idle, before the
    # server ends it. A writing transaction holds every phone's pull back until it ends
    # (sync/changes.py): slow work comes before it, and these bound what slips through.
    "DB_STATEMENT_TIMEOUT_MS": (30_000, parse_int),
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": (60_000, parse_int),
    # Webhooks go to public https addresses only; an on-premise receiver needs these
    # (docs/SECURITY.md): http allowed, and the internal networks it may be in.
    "WEBHOOK_ALLOW_HTTP": (False, parse_bool),
    # Web Push: the server's VAPID key pair (`flask push keys` makes it; every app server and
    # worker reads the same file), and the contact push services may write to about it.
    "VAPID_KEY_FILE": (str(ROOT / "instance" / "vapid_private.pem"), str),
    "VAPID_SUBJECT": ("mailto:it@example.com", str),
    "WEBHOOK_ALLOWED_NETWORKS": ((), parse_networks),
}


def load_config(environ: Mapping[str, str] | None = None, overrides: Mapping | None = None) -> dict:
    """The effective configuration: defaults, then the environment, then ``overrides`` (tests)."""
    environ = os.environ if environ is None else environ
    config: dict = {}
    for name, (default, parse) in SETTINGS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            config[name] = default
        elif parse is str:
            config[name] = raw
        else:
            config[name] = parse(name, raw)
    config.update(overrides or {})
    if not config.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set (make run writes one to .secret_key)")
    return config
