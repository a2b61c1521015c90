"""Ticket events go out to a real local HTTP endpoint, signed, retried with backoff after the
receiver fails twice, and logged; only to addresses the rules allow (the local receiver is
allowed here as an administrator's allowlist would allow an on-premise one)."""

import hashlib
import hmac
import ipaddress
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from foundation.org import Origin, Site
from tests.conftest import login, logout, post_form
from tests.helpers import NOW
from tickets.models import Ticket
from tickets.services import transition_ticket
from tickets.states import TicketState
from tickets.webhooks import (
    MAX_ATTEMPTS,
    AddressRules,
    Webhook,
    WebhookDelivery,
    backoff,
    deliver_due,
    forget_subscriptions,
)
from webapp.extensions import db

ON_PREMISE = AddressRules(allow_http=True, allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))


class Receiver:
    """An HTTP server on a free local port that fails the first ``failures`` requests with 500."""

    def __init__(self, failures: int, redirect_to: str | None = None) -> None:
        self.failures = failures
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if redirect_to:
                    self.send_response(307)
                    self.send_header("Location", redirect_to)
                else:
                    self.send_response(500 if len(receiver.requests) <= receiver.failures else 204)
                answer = b"internal-banner: db01.corp secret"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/tickets"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver(failures=2)
    yield made
    made.close()


def test_an_event_is_signed_retried_with_backoff_and_logged(session, demo, receiver):
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    hook = Webhook(url=receiver.url, site_id=by.id, description="短信网关")
    session.add(hook)
    session.flush()
    forget_subscriptions(session)
    ticket = session.scalar(sa.select(Ticket).where(Ticket.number == "BY-20261126-0002"))
    transition_ticket(
        session, ticket, TicketState.IN_PROGRESS, actor=demo.user("liuxia"), origin=Origin("web"), now=NOW
    )
    [delivery] = session.scalars(sa.select(WebhookDelivery)).all()

    assert deliver_due(session, NOW, ON_PREMISE) == 0  # the receiver answers 500
    assert (delivery.attempts, delivery.status, delivery.last_status) == (1, "pending", 500)
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)
    assert deliver_due(session, NOW + timedelta(seconds=10), ON_PREMISE) == 0 and len(receiver.requests) == 1  # not yet
    assert deliver_due(session, NOW + timedelta(seconds=30), ON_PREMISE) == 0  # 500 again
    assert delivery.next_attempt_at == NOW + timedelta(seconds=90)  # then a minute
    assert deliver_due(session, NOW + timedelta(seconds=90), ON_PREMISE) == 1
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 3, 204)

    bodies = {body for _, body in receiver.requests}
    assert len(receiver.requests) == 3 and len(bodies) == 1  # the same delivery each time
    headers, body = receiver.requests[-1]
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Fieldcheck-Signature"], expected)
    assert headers["X-Fieldcheck-Event"] == "ticket.transition" and headers["X-Fieldcheck-Delivery"] == str(delivery.id)
    sent = json.loads(body)
    assert sent["ticket"]["number"] == "BY-20261126-0002" and (sent["from_state"], sent["to_state"]) == (
        "new",
        "in_progress",
    )


def test_a_dead_endpoint_is_given_up_after_the_last_attempt(session, demo):
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    session.add(Webhook(url="http://127.0.0.1:9/nothing-listens", site_id=by.id))
    session.flush()
    forget_subscriptions(session)
    ticket = session.scalar(sa.select(Ticket).where(Ticket.number == "BY-20261126-0002"))
    transition_ticket(
        session, ticket, TicketState.IN_PROGRESS, actor=demo.user("liuxia"), origin=Origin("web"), now=NOW
    )
    [delivery] = session.scalars(sa.select(WebhookDelivery)).all()
    when = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        deliver_due(session, when, ON_PREMISE)
        when += backoff(attempt)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("failed", MAX_ATTEMPTS, None)
    assert delivery.last_error == "unreachable"  # in our words: nothing of the network's own
    assert backoff(MAX_ATTEMPTS) == timedelta(hours=1)


def test_a_manager_adds_an_endpoint_and_sees_the_log(app, client, demo):
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOWED_NETWORKS=ON_PREMISE.allowed_networks)
    login(client, "wangjl")
    bad = post_form(client, "/webhooks", {"url": "not a url", "site_id": "1"}, token_from="/webhooks")
    assert bad.status_code == 422 and "Invalid URL." in bad.get_data(as_text=True)
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
    added = post_form(
        client,
        "/webhooks",
        {"url": "http://127.0.0.1:8025/sms", "site_id": by, "description": "短信"},
        token_from="/webhooks",
    )
    assert added.status_code == 303
    post_form(client, "/tickets/BY-20261126-0002/comment", {"text": "已约维修时间"})
    page = client.get("/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:8025/sms" in page and "ticket.comment" in page and "pending" in page
    logout(client)
    login(client, "liuxia")
    assert client.get("/webhooks").status_code == 403


def test_no_transaction_is_open_while_a_receiver_is_called(app, session, demo):
    """A receiver that takes its time (up to the 5 s timeout) holds nobody up: while it is
    called, the worker has no transaction open and another writer changes the ticket at once."""
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    session.add(Webhook(url="http://receiver.invalid/slow", site_id=by.id))
    session.flush()
    forget_subscriptions(session)
    ticket = session.scalar(sa.select(Ticket).where(Ticket.number == "BY-20261126-0002"))
    transition_ticket(
        session, ticket, TicketState.IN_PROGRESS, actor=demo.user("liuxia"), origin=Origin("web"), now=NOW
    )
    ticket_id = ticket.id
    seen = []

    def slow_receiver(url, body, headers, rules):
        seen.append(session().in_transaction())
        with app.app_context():  # another request, meanwhile
            if db.engine.dialect.name == "postgresql":
                db.session.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
            db.session.get(Ticket, ticket_id).title = "门禁坏了（已致电）"
            db.session.commit()
        return 204

    assert deliver_due(session, NOW, send=slow_receiver) == 1
    assert seen == [False]
    assert session.get(Ticket, ticket_id).title == "门禁坏了（已致电）"
    assert session.scalar(sa.select(WebhookDelivery.status)) == "delivered"


def _event(session, demo, url: str) -> WebhookDelivery:
    """A webhook of BY at ``url`` (stored as if saved before the rules, or by the shell) and one
    ticket event for it."""
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    session.add(Webhook(url=url, site_id=by.id))
    session.flush()
    forget_subscriptions(session)
    ticket = session.scalar(sa.select(Ticket).where(Ticket.number == "BY-20261126-0002"))
    transition_ticket(
        session, ticket, TicketState.IN_PROGRESS, actor=demo.user("liuxia"), origin=Origin("web"), now=NOW
    )
    return session.scalars(sa.select(WebhookDelivery)).one()


INTERNAL = [
    "http://127.0.0.1:8025/sms",
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://[::1]:8443/x",
    "https://0x7f000001/x",
    "https://2130706433/x",
    "https://0177.0.0.1/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.1.2.3/x",
    "https://172.16.0.9/x",
    "https://192.168.1.1/x",
    "https://[fd00::1]/x",
    "https://[fe80::1]/x",
    "https://0.0.0.0/x",
    "https://224.0.0.1/x",
    "https://100.64.0.1/x",
]


def test_a_manager_cannot_point_a_webhook_inside_the_network(app, client, demo):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
    for url in INTERNAL:
        refused = post_form(client, "/webhooks", {"url": url, "site_id": by}, token_from="/webhooks")
        assert refused.status_code == 422, url
        text = refused.get_data(as_text=True)
        assert "Use an https address." in text or "inside a private network" in text, url
    plain = post_form(client, "/webhooks", {"url": "http://93.184.216.34/hook", "site_id": by}, token_from="/webhooks")
    assert plain.status_code == 422 and "Use an https address." in plain.get_data(as_text=True)
    public = post_form(
        client, "/webhooks", {"url": "https://93.184.216.34/hook", "site_id": by}, token_from="/webhooks"
    )
    assert public.status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(Webhook.url)).all() == ["https://93.184.216.34/hook"]


def test_a_delivery_checks_the_address_again_and_never_reaches_an_internal_one(session, demo, receiver):
    delivery = _event(session, demo, receiver.url)
    assert deliver_due(session, NOW, AddressRules(allow_http=True)) == 0  # http allowed, no internal network
    assert receiver.requests == []
    assert (delivery.last_status, delivery.last_error) == (None, "internal_address")
    assert deliver_due(session, NOW + timedelta(minutes=1)) == 0  # the default rules: https only
    assert receiver.requests == [] and delivery.last_error == "not_https"


def test_a_redirect_is_not_followed_and_the_answer_is_not_shown(app, client, demo):
    target = Receiver(failures=0)
    redirecting = Receiver(failures=0, redirect_to=target.url)
    try:
        with app.app_context():
            delivery = _event(db.session, demo, redirecting.url)
            deliver_due(db.session, NOW, ON_PREMISE)
            assert (len(redirecting.requests), len(target.requests)) == (1, 0)
            assert (delivery.status, delivery.last_status) == ("pending", 307)  # tried again later, not followed
            db.session.remove()
        login(client, "wangjl")
        page = client.get("/webhooks").get_data(as_text=True)
        assert "307" in page and "internal-banner" not in page and "db01" not in page
    finally:
        target.close()
        redirecting.close()


def test_a_manager_pauses_resumes_and_deletes_a_webhook_of_their_site_only(app, client, demo):
    with app.app_context():
        delivery = _event(db.session, demo, "https://93.184.216.34/hook")
        hook_id = delivery.webhook_id
        db.session.commit()
    login(client, "hemin")  # XH's manager: BY's webhook is not theirs
    assert post_form(client, f"/webhooks/{hook_id}/active", {}, token_from="/webhooks").status_code == 404
    assert post_form(client, f"/webhooks/{hook_id}/delete", {}, token_from="/webhooks").status_code == 404
    logout(client)
    login(client, "wangjl")
    paused = post_form(client, f"/webhooks/{hook_id}/active", {}, token_from="/webhooks", follow_redirects=True)
    assert "Webhook paused" in paused.get_data(as_text=True)
    post_form(client, "/tickets/BY-20261126-0002/comment", {"text": "已约维修时间"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 1  # nothing new
    post_form(client, f"/webhooks/{hook_id}/active", {}, token_from="/webhooks")
    post_form(client, "/tickets/BY-20261126-0002/comment", {"text": "维修已到场"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 2
    deleted = post_form(client, f"/webhooks/{hook_id}/delete", {}, token_from="/webhooks", follow_redirects=True)
    assert "Webhook deleted." in deleted.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Webhook)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0
