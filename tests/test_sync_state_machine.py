"""Several phones push through a bad network: lost answers, repeats, reordering. The server
ends with exactly the records the phones made, each once, and every outbox drains."""

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inspections.records import Inspection
from tests.sync_client import get_token, inspection_payload, mutation, pull_all, push
from webapp.extensions import db

PHONES = ["chenmei", "zhaoling", "liuxia"]  # a cleaner, her lead and customer service, one site


def test_phones_on_a_bad_network_end_with_each_record_once(app, client, demo):
    tokens = {name: get_token(client, name) for name in PHONES}
    changes, _ = pull_all(client, tokens["chenmei"])
    template = next(
        c["data"] for c in changes if c["entity"] == "template" and c["data"]["title"] == "清洁标准：卫生间"
    )
    restroom = next(c["data"] for c in changes if c["entity"] == "location" and c["data"]["area_type"] == "restroom")

    def server_ids() -> list[str]:
        with app.app_context():
            return [str(i) for i in db.session.scalars(sa.select(Inspection.id))]

    class BadNetwork(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.outboxes = {name: [] for name in PHONES}  # mutations each phone still holds
            self.made: set[str] = set()  # inspection ids the phones made in this run
            self.before = set(server_ids())

        @rule(phone=st.sampled_from(PHONES), fail=st.sampled_from([None, "odour", "mirrors"]))
        def record(self, phone, fail):
            payload = inspection_payload(
                template, restroom["id"], restroom["site_id"], fail=fail, photos=["ab" * 32] if fail else []
            )
            self.outboxes[phone].append(mutation("inspection.submit", payload))
            self.made.add(payload["inspection_id"])

        @precondition(lambda self: any(self.outboxes.values()))
        @rule(data=st.data(), lost=st.booleans(), repeats=st.integers(0, 2))
        def send(self, data, lost, repeats):
            phone = data.draw(st.sampled_from([p for p in PHONES if self.outboxes[p]]))
            held = self.outboxes[phone]
            batch = data.draw(st.permutations(held)).copy()[: data.draw(st.integers(1, len(held)))]
            batch += [batch[0]] * repeats  # the same mutation again within the batch
            response = push(client, tokens[phone], batch)
            assert response.status_code == 200
            if lost:
                return  # the answer never reached the phone: it keeps everything and retries later
            done = {r["id"] for r in response.get_json()["results"] if r["status"] in ("applied", "duplicate")}
            assert done == {m["id"] for m in batch}  # nothing here is ever rejected
            self.outboxes[phone] = [m for m in held if m["id"] not in done]

        @invariant()
        def nothing_twice(self):
            ids = server_ids()
            assert len(ids) == len(set(ids))

        def teardown(self):
            for phone, held in self.outboxes.items():
                if held:
                    results = push(client, tokens[phone], held).get_json()["results"]
                    assert {r["status"] for r in results} <= {"applied", "duplicate"}
                    self.outboxes[phone] = []
            assert set(server_ids()) - self.before == self.made

    run_state_machine_as_test(BadNetwork, settings=settings(max_examples=12, stateful_step_count=15, deadline=None))
