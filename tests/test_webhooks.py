"""Ticket events go out to a real local HTTP endpoint, signed, retried with backoff after the
receiver fails twice, and logged."""

import hashlib
import hmac
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
from tickets.webhooks import MAX_ATTEMPTS, Webhook, WebhookDelivery, backoff, deliver_due, forget_subscriptions
from webapp.extensions import db


class Receiver:
    """An HTTP server on a free local port that fails the first ``failures`` requests with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.requests) <= receiver.failures else 204)
                self.end_headers()

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

    assert deliver_due(session, NOW) == 0  # the receiver answers 500
    assert (delivery.attempts, delivery.status, delivery.last_status) == (1, "pending", 500)
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)
    assert deliver_due(session, NOW + timedelta(seconds=10)) == 0 and len(receiver.requests) == 1  # not yet
    assert deliver_due(session, NOW + timedelta(seconds=30)) == 0  # 500 again
    assert delivery.next_attempt_at == NOW + timedelta(seconds=90)  # then a minute
    assert deliver_due(session, NOW + timedelta(seconds=90)) == 1
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
        deliver_due(session, when)
        when += backoff(attempt)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("failed", MAX_ATTEMPTS, None)
    assert delivery.last_error  # connection refused, in the log
    assert backoff(MAX_ATTEMPTS) == timedelta(hours=1)


def test_a_manager_adds_an_endpoint_and_sees_the_log(app, client, demo):
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

    def slow_receiver(url, body, headers):
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
