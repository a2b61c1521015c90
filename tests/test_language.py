"""Simplified Chinese and English, chosen per person and kept."""

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
