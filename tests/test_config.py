"""Configuration is read once and strictly."""
import pytest

from webapp.config import ConfigError, load_config


def test_environment_overrides_defaults():
    config = load_config({"SECRET_KEY": "s", "PHOTO_MAX_BYTES": "1000", "SESSION_COOKIE_SECURE": "true"})
    assert config["PHOTO_MAX_BYTES"] == 1000 and config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("environ, message", [
    ({}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": "s", "PHOTO_MAX_BYTES": "lots"}, "not a whole number"),
    ({"SECRET_KEY": "s", "PHOTO_MAX_PIXELS": "0"}, "below 1"),
    ({"SECRET_KEY": "s", "SESSION_COOKIE_SECURE": "maybe"}, "not a boolean"),
])
def test_nonsense_is_refused(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ)
