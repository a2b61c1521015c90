"""The world `make run` serves, crawled as every demo account in both languages.

The world is built by the same commands as `make run` (`flask demo load`, `flask demo history`),
plus a few records with photos made through the sync API as phones make them, so that photo,
evidence and notice routes have something to show. Every GET route is requested with its path
parameters filled from real rows, then every link and form action found on the pages is
followed. Any 5xx fails, as does a GET view that writes without being marked ``writes_on_get``
(on SQLite it would run without the write lock), and so does a page in one language that shows
the interface's words of the other (an English sentence of the catalogue on a Chinese page, a
Chinese word that has an English one on an English page, the world's own names aside). New routes are crawled without being listed
here: their parameters are filled by name.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import has_request_context, request

from demo.world import DEMO_PASSWORD
from foundation.notices import Notice
from foundation.org import Location, LocationKind, Site, User
from foundation.photos import Photo
from inspections.checklists import ChecklistTemplate, TemplateVersion
from inspections.fitout import FitoutProject
from inspections.patrol import PatrolRoute
from inspections.records import Inspection
from tests.conftest import login
from tests.helpers import jpeg_bytes, sha
from tests.sync_client import get_token, inspection_payload, mutation, pull_all, push, put_photo
from tickets.models import Ticket, TicketKind, TicketPhoto
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PER_ENDPOINT = 2  # distinct URLs of one endpoint followed per person and language
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


class _Page(HTMLParser):
    """One reading of a page: the links a visitor can follow, and what a person reads (its text
    and the words of its attributes, piece by piece)."""

    LINKS = {"a": ["href"], "form": ["action"], "img": ["src"], "link": ["href"]}
    HIDDEN = {"script", "style", "template"}
    READ = ("title", "placeholder", "aria-label", "alt")

    def __init__(self, body: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.pieces: list[str] = []
        self.hidden = 0
        self.feed(body)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.links += [values[name] for name in (*self.LINKS.get(tag, ()), "hx-get") if values.get(name)]
        self.hidden += tag in self.HIDDEN
        self.pieces += [value.strip() for name, value in attrs if name in self.READ and value]

    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.pieces.append(" ".join(data.split()))


def _catalogue() -> tuple[set[str], dict[str, str]]:
    """The interface's sentences in English (several words) and its words in Chinese (the
    English each translates), from the catalogue the pages are translated with."""
    from babel.messages.pofile import read_po

    with (ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    english, chinese = set(), {}
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid, msgstr in zip(ids, strings):
            if not msgid or not msgstr or "%(" in msgid or msgid == msgstr:
                continue
            if len(msgid.split()) >= 3:
                english.add(msgid)
            if len(msgstr) >= 2:
                chinese[msgstr] = msgid
    return english, chinese


ENGLISH_SENTENCES, CHINESE_WORDS = _catalogue()


def _other_language(page: _Page, locale: str, data: set[str]) -> list[str]:
    """Interface words of the other language on a page: an English sentence on a Chinese page,
    a Chinese word that has an English one on an English page (unless the world's own data says
    it: a person called 系统管理员, a place called 卫生间)."""
    if locale == "zh":
        return [piece for piece in page.pieces if piece in ENGLISH_SENTENCES]
    return [piece for piece in page.pieces if piece in CHINESE_WORDS and piece not in data]


def _data_words(app) -> set[str]:
    """What the world's rows name in one language only: people, places, checklists, and the
    checklist words that have no English."""
    with app.app_context():
        words = set(db.session.scalars(sa.select(User.display_name)))
        words |= set(db.session.scalars(sa.select(Location.name))) | set(db.session.scalars(sa.select(Site.name)))
        words |= set(db.session.scalars(sa.select(ChecklistTemplate.title)))
        for version in db.session.scalars(sa.select(TemplateVersion)):
            for section in version.parsed().sections:
                words |= {section.title} if not section.title_en else set()
                words |= {item.label for item in section.items if not item.label_en}
    return words


def _make_run_world(app) -> None:
    runner = app.test_cli_runner()
    for command in (["demo", "load"], ["demo", "history"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def _records_with_photos(app) -> None:
    """A guard's hazard, a fit-out violation and a failed restroom check, each with a photo,
    pushed the way phones push them."""
    client = app.test_client()
    for username, title, place in [
        ("zhangwei", "巡更点检查", LocationKind.CHECKPOINT),
        ("lihua", "二装日常巡查：工程部", LocationKind.UNIT),
        ("zhaoling", "清洁标准：卫生间", LocationKind.AREA),
    ]:
        token = get_token(client, username)
        changes, _ = pull_all(client, token)
        template = next(c["data"] for c in changes if c["entity"] == "template" and c["data"]["title"] == title)
        with app.app_context():
            query = (
                sa.select(Location).join(Site).where(Site.code == "BY", Location.kind == place).order_by(Location.id)
            )
            if place == LocationKind.AREA:
                query = query.where(Location.area_type == "restroom")
            if place == LocationKind.UNIT:
                query = query.join(FitoutProject, FitoutProject.unit_id == Location.id)
            location = db.session.scalars(query).first()
            site_id, location_id = location.site_id, location.id
        photo = jpeg_bytes(color=(len(title) * 9 % 256, 80, 40))
        assert put_photo(client, token, photo).status_code in (200, 201)
        failing = next(i["id"] for s in template["sections"] for i in s["items"] if i.get("photo_on_fail"))
        payload = inspection_payload(template, location_id, site_id, fail=failing, photos=[sha(photo)])
        result = push(client, token, [mutation("inspection.submit", payload)]).get_json()["results"][0]
        assert result["status"] == "applied", result


def _parameter_values(app) -> dict[str, list[str]]:
    """Real values for each path parameter name, a few of each: both sites, open and closed."""
    with app.app_context():
        s = db.session
        tickets = [
            n
            for kind in TicketKind
            for n in s.scalars(
                sa.select(Ticket.number).where(Ticket.kind == kind).order_by(Ticket.created_at.desc()).limit(2)
            )
        ]
        inspections = [
            str(i) for i in s.scalars(sa.select(Inspection.id).order_by(Inspection.finished_at.desc()).limit(3))
        ]
        violations = s.execute(
            sa.select(FitoutProject.id, Ticket.number)
            .join(Ticket, Ticket.location_id == FitoutProject.unit_id)
            .where(Ticket.kind == TicketKind.VIOLATION)
        ).first()
        evidence = s.execute(sa.select(Ticket.number, TicketPhoto.photo_sha256).join(TicketPhoto)).first()
        # A checklist opened where it was last filled in, as Today links it.
        checklists = [
            f"/checklists/{t}?location={loc}"
            for t, loc in s.execute(
                sa.select(TemplateVersion.template_id, sa.func.max(Inspection.location_id))
                .join(Inspection, Inspection.template_version_id == TemplateVersion.id)
                .group_by(TemplateVersion.template_id)
            )
        ]
        # Each checklist's first item, and a new one, in the builder.
        items = [
            f"/builder/{v.template_id}/items/{v.definition['sections'][0]['items'][0]['id']}"
            for v in s.scalars(sa.select(TemplateVersion).where(TemplateVersion.version == 1).limit(4))
        ]
        return {
            "field.checklist": checklists,
            "checklists.item": [*items, "/builder/1/items/new"],
            "template_id": [str(i) for i in s.scalars(sa.select(ChecklistTemplate.id).order_by(ChecklistTemplate.id))],
            "inspection_id": inspections,
            "project_id": [str(i) for i in s.scalars(sa.select(FitoutProject.id))],
            "number": tickets,
            "fitout.notice": [f"/fitout/{violations[0]}/notices/{violations[1]}.pdf"],
            "fitout.stamped": [f"/fitout/evidence/{evidence[0]}/{evidence[1]}.jpg"],
            "sha256": list(s.scalars(sa.select(Photo.sha256))),
            "route_id": [str(i) for i in s.scalars(sa.select(PatrolRoute.id))],
            "user_id": [
                str(i)
                for i in s.scalars(sa.select(User.id).where(User.role.in_(["guard", "cleaner"])).order_by(User.id))
            ],
            "location_id": [str(i) for i in s.scalars(sa.select(Location.id).order_by(Location.id).limit(40))][::8],
            "notice_id": [str(i) for i in s.scalars(sa.select(Notice.id).limit(2))],
            "site_id": [str(i) for i in s.scalars(sa.select(Site.id).order_by(Site.id))],
            "place_id": [str(i) for i in s.scalars(sa.select(Location.id).order_by(Location.id).limit(40))][::8],
            "fmt": ["csv", "xlsx"],
            "last_month": [f"{(datetime.now(UTC).replace(day=1) - timedelta(days=1)):%Y-%m}"],
        }


def _route_urls(app, values: dict[str, list[str]]) -> list[str]:
    """Every GET route with its parameters filled from real rows."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.endpoint in values:
            urls += values[rule.endpoint]
            continue
        if rule.endpoint.startswith("cleaning.scores"):  # the month just ended: a whole month of history
            urls.append(f"{rule.rule}?month={values['last_month'][0]}")
        missing = [a for a in rule.arguments if a not in values]
        assert not missing, f"{rule.rule}: no real values for {missing}; add them to _parameter_values"
        columns = [values[a] for a in sorted(rule.arguments)]
        for n in range(max((len(c) for c in columns), default=1)):
            filled = {a: values[a][n % len(values[a])] for a in sorted(rule.arguments)}
            urls.append(_build(rule.rule, filled))
    return urls


def _build(rule: str, filled: dict[str, str]) -> str:
    return re.sub(
        r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: filled[m.group(1)], re.sub(r"<any\([^)]*\):(\w+)>", r"<\1>", rule)
    )


class _WritesOnGet:
    """Counts write statements run while a GET request is served by a view not marked
    ``writes_on_get``."""

    def __init__(self, app) -> None:
        self.app = app
        self.found: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not has_request_context() or request.method not in ("GET", "HEAD") or not WRITE.match(statement):
            return
        view = self.app.view_functions.get(request.endpoint)
        if not getattr(view, "writes_on_get", False):
            self.found.append(f"{request.full_path} ({request.endpoint}): {statement.split(chr(10))[0][:80]}")


def _crawl(
    app,
    client,
    start: list[str],
    adapter,
    answered: set[str],
    locale: str = "",
    data: frozenset = frozenset(),
    settled: dict[str, int] | None = None,
) -> tuple[Counter, list[str]]:
    """Every page reachable from ``start``. ``settled``: what answered 403, 404 or 405 to this
    person in their other language, or was a download (a file, whose words the crawl does not
    read), not asked again (a refusal's page in each language is tests/test_language.py's, a
    download's words are its own tests'), and filled with this pass's when empty."""
    statuses, errors = Counter(), []
    seen: set[str] = set()
    asked_before = dict(settled) if settled else {}  # what the other language settled
    per_endpoint: Counter = Counter()
    queue = list(start)
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != "localhost" or parts.scheme not in ("", "http"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen or not parts.path.startswith("/") or parts.path.startswith("/static/"):
            continue
        seen.add(path)
        try:
            endpoint = adapter.match(parts.path, method="GET")[0]
        except Exception:  # 404 or 405: asked for all the same, below, so that it answers cleanly
            endpoint = parts.path
        if endpoint in ("auth.logout",):
            continue
        if per_endpoint[endpoint] >= PER_ENDPOINT and url not in start:
            continue
        per_endpoint[endpoint] += 1
        if path in asked_before:
            statuses[asked_before[path]] += 1
            continue
        response = client.get(path)
        body = response.get_data()  # streamed downloads too: an error half-way is an error
        response.close()
        statuses[response.status_code] += 1
        not_a_page = response.status_code == 200 and response.mimetype != "text/html"
        if settled is not None and not asked_before and (response.status_code in (403, 404, 405) or not_a_page):
            settled[path] = response.status_code
        if response.status_code == 200:
            answered.add(endpoint)
        if response.status_code >= 500:
            errors.append(f"{response.status_code} {path}")
        if response.mimetype != "text/html":
            continue
        page = _Page(body.decode())
        if locale:
            errors += [
                f"{response.status_code} {path} in {locale} shows {w!r}" for w in _other_language(page, locale, data)
            ]
        if response.status_code == 200:
            queue += [urljoin(path, link) for link in page.links]
    return statuses, errors


@pytest.fixture
def world(app):
    _make_run_world(app)
    _records_with_photos(app)
    return app


def test_every_page_of_the_make_run_world_answers_every_demo_account_in_both_languages(world):
    app = world
    values = _parameter_values(app)
    route_urls = _route_urls(app, values)
    data = frozenset(_data_words(app))
    with app.app_context():
        people = list(db.session.scalars(sa.select(User.username).where(User.active.is_(True)).order_by(User.id)))
        engine = db.engine
    writes = _WritesOnGet(app)
    sa.event.listen(engine, "before_cursor_execute", writes)
    adapter = app.url_map.bind("localhost")
    totals, errors, answered = Counter(), [], set()
    try:
        for username in people:
            settled: dict[str, int] = {}
            for locale in ("zh", "en"):
                client = app.test_client()
                login(client, username, DEMO_PASSWORD, locale=locale)
                statuses, found = _crawl(app, client, ["/", *route_urls], adapter, answered, locale, data, settled)
                totals.update(statuses)
                errors += [f"{username}/{locale}: {e}" for e in found]
    finally:
        sa.event.remove(engine, "before_cursor_execute", writes)
    visitor = app.test_client()
    statuses, found = _crawl(app, visitor, ["/", "/login", *route_urls], adapter, set())
    errors += [f"visitor: {e}" for e in found]
    assert set(statuses) <= {200, 302, 401, 404, 405}, statuses  # nothing but the login page and public files
    print(f"crawled {sum(totals.values())} requests as {len(people)} people × 2 languages: {dict(totals)}")
    assert errors == []
    gets = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods}
    # Each page showed itself to someone: the crawl reached what it is for, not just its refusals.
    # Not to a logged-in person: the sync API answers device tokens only, login and home redirect,
    # and the first-run page is gone once anyone exists (tests/test_first_run.py shows it).
    assert gets - answered == {
        "static",
        "api.pull_changes",
        "api.push_key",
        "auth.login",
        "field.home",
        "auth.first_run",
    }
    assert writes.found == []
    assert len(people) >= 12 and totals[200] > 500 and totals[403] > 0 and totals[404] > 0
