"""What a person is told when a photo is refused, by the domain's error code."""

from flask_babel import lazy_gettext as _l

PHOTO_ERRORS = {
    "photo_too_large": _l("This photo is too large. Take it again at a lower resolution."),
    "photo_too_many_pixels": _l("This image has too many pixels."),
    "photo_not_an_image": _l("This file is not a photo we can read (JPEG, PNG or WebP), or it is damaged."),
    "photo_unsupported_type": _l("Only JPEG, PNG and WebP photos are accepted."),
    "photo_hash_mismatch": _l("The photo was damaged on the way. Try again."),
}


def photo_error_message(code: str) -> str:
    return str(PHOTO_ERRORS.get(code, PHOTO_ERRORS["photo_not_an_image"]))
