"""Simplified Chinese and English, chosen per person and kept."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import login, post_form


def test_each_person_reads_their_own_language(client, demo):
    login(client, "chenmei", locale="zh")
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "今日" in page and "开始其他检查" in page
    post_form(client, "/language", {"locale": "en"})
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="en"' in page and "Start another check" in page


def test_validation_messages_follow_the_language(client, demo):
    login(client, "wangjl", locale="zh")
    response = post_form(
        client, "/people", {"username": "ab", "display_name": "", "role": "cleaner", "sites": "1", "password": "x"}
    )
    html = response.get_data(as_text=True)
    assert "至少 8 个字符。" in html and "Field must be" not in html


def test_a_bad_language_choice_changes_nothing(client, demo):
    login(client, "chenmei", locale="zh")
    post_form(client, "/language", {"locale": "klingon"})
    assert "今日" in client.get("/today").get_data(as_text=True)


def test_every_message_has_its_chinese_words(tmp_path):
    """Every string the code and templates say, extracted as `make messages` does, has its Chinese:
    a new English string fails here, not on a guard's phone."""
    root = Path(__file__).parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as said, (root / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        wanted, catalog = read_po(said), read_po(po)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(str(m.id) for m in wanted if m.id and m.id not in translated) == []
