"""What text people may type, in one place: every edge (forms, the JSON API, imports, the CLI)
checks with these rules, and pages show invisible characters visibly.

- No control characters anywhere (NUL is refused by PostgreSQL, and the others are never typed):
  tab and line breaks only where several lines are allowed.
- Names (people, contractors, contacts, devices, places) also refuse the characters that change
  how text is drawn without being seen: bidi overrides and isolates, zero-width spaces and
  joiners. ``\\u202e王经理\\u202c`` must not read as the manager.
- Free text keeps them (a tenant may paste anything), and pages draw them as ``⟨U+202E⟩``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

# Drawn differently from what they are: bidi marks, embeddings, overrides and isolates,
# zero-width spaces and joiners, word joiner and invisible operators, the BOM, Mongolian vowel separator.
_INVISIBLE = r"\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_NEVER = r"\u007f-\u009f\ufffe\uffff"  # DEL, C1 controls, non-characters
# Each rule as a pattern of what the whole text may be: checked here, and published as the
# ``pattern`` of the field in the OpenAPI document, so clients know the rule before they send.
LINE_PATTERN = rf"^[^\u0000-\u001f{_NEVER}]*$"
TEXT_PATTERN = rf"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f{_NEVER}]*$"
NAME_PATTERN = rf"^[^\u0000-\u001f{_NEVER}{_INVISIBLE}]*$"
INVISIBLE = re.compile(f"[{_INVISIBLE}]")
# Lone surrogates too (JSON can carry one; UTF-8 cannot store it), left out of the published
# patterns because regex engines of other languages refuse a surrogate range.
_SINGLE_LINE_CONTROL = re.compile(rf"[\u0000-\u001f{_NEVER}\ud800-\udfff]")
_MULTI_LINE_CONTROL = re.compile(rf"[\u0000-\u0008\u000b\u000c\u000e-\u001f{_NEVER}\ud800-\udfff]")


class TextRefused(ValueError):
    """Text that breaks a rule above; the message says which, in English (pages translate the code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()


def check_text(value: str, *, multiline: bool = True) -> str:
    """Refuse control characters (tab and line breaks are allowed where ``multiline``)."""
    if not value:
        return value  # most notes of a checklist are empty
    found = (_MULTI_LINE_CONTROL if multiline else _SINGLE_LINE_CONTROL).search(value)
    if found:
        raise TextRefused("control_character", f"contains a control character ({_describe(found.group())})")
    return value


def check_name(value: str) -> str:
    """A name: one line, nothing invisible."""
    check_text(value, multiline=False)
    found = INVISIBLE.search(value)
    if found:
        raise TextRefused("invisible_character", f"contains an invisible character ({_describe(found.group())})")
    return value


def visible(value: str) -> str:
    """Free text as a page draws it: each invisible character shown by its code point."""
    return INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value)


def check_line(value: str) -> str:
    return check_text(value, multiline=False)


MIN_PASSWORD = 8
MAX_PASSWORD = 200  # any passphrase fits; nothing larger reaches the hash


def check_password(value: str) -> str:
    """A password as it is set (forms, imports, the shell): long enough, bounded, and typeable:
    one with a control character could never be typed into the login form again."""
    if len(value) < MIN_PASSWORD:
        raise TextRefused("short_password", f"shorter than {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise TextRefused("long_password", f"longer than {MAX_PASSWORD} characters")
    return check_line(value)


def _typed(check, pattern: str):
    def limited(max_length: int | None = None, *, min_length: int | None = None):
        # The lengths come first: pydantic checks them natively there; after a Python check it
        # would add two more Python calls per value (a pushed batch has thousands of values).
        return Annotated[
            str,
            Field(min_length=min_length, max_length=max_length),
            AfterValidator(check),
            Field(json_schema_extra={"pattern": pattern}),
        ]

    return limited


# For pydantic models: ``title: line_of(200, min_length=1)``, ``note: text_of(2000)``,
# ``display_name: name_of(120)``; ``Line``: one line of any length.
text_of = _typed(check_text, TEXT_PATTERN)
line_of = _typed(check_line, LINE_PATTERN)
name_of = _typed(check_name, NAME_PATTERN)
Line = line_of()
