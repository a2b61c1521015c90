"""Turning the checklist page's fields into SYNC.md's ``inspection.submit`` answers.

Field names: ``answer-<item>`` (the value), ``note-<item>``, ``photos-<item>`` (hashes of photos
already uploaded, one field each) and ``photo-<item>`` (files, when JavaScript did not upload them).
"""

from __future__ import annotations

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from foundation.photos import PhotoRefused, is_sha256
from inspections.checklists import Definition, Item
from inspections.submission import AnswerIn


def parse_number(raw: str) -> float | int | str:
    """A number as typed (comma decimals too), or the text itself so the error can show it."""
    try:
        number = float(raw.replace(",", ".").strip())
    except ValueError:
        return raw
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def answers_from_form(
    definition: Definition, form: MultiDict, files: MultiDict, ingest
) -> tuple[list[AnswerIn], dict[str, str]]:
    """Answers from the form, uploading any attached files with ``ingest(FileStorage) -> sha``.

    Returns the answers and the errors by item id (a refused file, a note that breaks a text
    rule: those are left out).
    """
    answers: list[AnswerIn] = []
    item_errors: dict[str, str] = {}
    for item in definition.items():
        photos = [sha for sha in form.getlist(f"photos-{item.id}") if is_sha256(sha)]
        for upload in files.getlist(f"photo-{item.id}"):
            if not upload or not upload.filename:
                continue
            try:
                photos.append(ingest(upload))
            except PhotoRefused as refused:
                item_errors[item.id] = refused.code
        value = _value(item, form.get(f"answer-{item.id}", "").strip(), photos)
        note = form.get(f"note-{item.id}", "").strip()[:2000]
        if value is None and not note and not photos:
            continue
        try:
            answers.append(AnswerIn(item_id=item.id, value=value, note=note, photos=list(dict.fromkeys(photos))[:20]))
        except ValidationError:  # the note breaks a text rule: the form shows it, with what was typed
            item_errors[item.id] = "control_character"
    return answers, item_errors


def _value(item: Item, raw: str, photos: list[str]):
    if item.type == "number":
        return parse_number(raw) if raw else None
    if item.type == "photo":
        return photos[0] if photos else None
    if item.type == "signature":
        if is_sha256(raw):
            photos.append(raw)  # the signature is an uploaded image like any photo
            return raw
        return None
    return raw or None


def answers_by_item(answers: list[AnswerIn]) -> dict[str, AnswerIn]:
    return {answer.item_id: answer for answer in answers}
