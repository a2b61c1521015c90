"""Offline pages carry a validator: the worker's check for a newer copy costs a 304 when nothing
changed, and a changed page (or another person, language or session) is a full answer."""

from tests.conftest import login, logout, post_form


def _offline_urls(client) -> list[str]:
    import json
    import re

    html = client.get("/today").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="offline-urls"[^>]*>(.*?)</script>', html, re.S)
    return [url for url in json.loads(found.group(1)) if not url.startswith("/static/")]


def test_an_unchanged_page_answers_304_and_a_changed_one_the_page(app, client, demo):
    login(client, "wangjl")
    first = client.get("/tickets/BY-20261126-0002")
    assert first.status_code == 200 and first.headers["X-Offline-Cache"]
    etag = first.headers["ETag"]
    again = client.get("/tickets/BY-20261126-0002", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["X-Offline-Cache"] == first.headers["X-Offline-Cache"]

    post_form(client, "/tickets/BY-20261126-0002/comment", {"text": "已联系业主"})
    changed = client.get("/tickets/BY-20261126-0002", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "已联系业主" in changed.get_data(as_text=True)

    post_form(client, "/language", {"locale": "zh"})  # another language: another page
    assert (
        client.get("/tickets/BY-20261126-0002", headers={"If-None-Match": changed.headers["ETag"]}).status_code == 200
    )


def test_every_page_a_cleaner_keeps_offline_revalidates_to_nothing(app, client, demo):
    login(client, "chenmei")
    urls = _offline_urls(client)
    assert len(urls) > 5
    etags = {url: client.get(url).headers["ETag"] for url in urls}
    assert {url: client.get(url, headers={"If-None-Match": tag}).status_code for url, tag in etags.items()} == {
        url: 304 for url in urls
    }
    # A new session (the next login) never revalidates the last one's copies: their form token is gone.
    logout(client)
    login(client, "chenmei")
    assert client.get(urls[0], headers={"If-None-Match": etags[urls[0]]}).status_code == 200


def test_a_page_kept_in_the_background_leaves_the_message_for_the_page_the_person_opens(app, client, demo):
    login(client, "wangjl")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "已保存检查表")]
    # Today asked the service worker to keep the person's pages while the next page loads.
    kept = client.get("/today", headers={"X-Keep-Offline": "1"})
    assert "已保存检查表" not in kept.get_data(as_text=True) and kept.headers["X-Offline-Cache"]
    # Nor does it send the session cookie back: an older copy would overwrite the one with the message.
    assert "Set-Cookie" not in kept.headers

    shown = client.get("/today")
    assert "已保存检查表" in shown.get_data(as_text=True)
    assert "X-Offline-Cache" not in shown.headers  # not kept to show "saved" again, offline, days later
    assert "已保存检查表" not in client.get("/today").get_data(as_text=True)
