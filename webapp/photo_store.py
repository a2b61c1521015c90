"""The app's photo store and limits, chosen from the configuration."""

from __future__ import annotations

from flask import Flask, current_app

from foundation.photos import LocalPhotoStore, PhotoLimits, PhotoStore, S3PhotoStore


def init_app(app: Flask) -> None:
    address = app.config["PHOTO_STORE"]
    app.extensions["photo_store"] = (
        S3PhotoStore.from_url(address) if address else LocalPhotoStore(app.config["PHOTO_DIR"])
    )


def store() -> PhotoStore:
    return current_app.extensions["photo_store"]


def limits() -> PhotoLimits:
    return PhotoLimits(
        max_bytes=current_app.config["PHOTO_MAX_BYTES"],
        max_pixels=current_app.config["PHOTO_MAX_PIXELS"],
    )
