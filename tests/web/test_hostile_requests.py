"""No request gives a 500: every route, with hostile path, query and form values.

The walk sends a request to every rule of ``app.url_map`` (the extension's and the example
shop's), GET and POST, signed out, as a shopper and as an admin; each POST once with a
valid CSRF token (so the values reach the view) and once without. Path variables get
hostile values, and then real ones (a real order with hostile query and form values gets
further). Every query parameter and form field the pages use gets a hostile value. Then
every form a page shows is sent back as the page filled it in, with one field at a time
made hostile: replaced, and spliced into what was there (a key that keeps its length and
most of its characters gets past more checks).

The values of a walk come from a palette, handed out in turn to every slot of every
request. The explicit examples walk once with each kind of value that broke something
alone (every slot gets it), then with all the known values mixed; Hypothesis adds palettes
of its own, derandomized so that the walk is the same on every run.

In TESTING mode Flask raises a view's exception in the test client instead of answering
500: both count, reported with the request, the person and the values. After each walk
the ledger audit must still find nothing wrong.
"""

from __future__ import annotations

import itertools
import re
import traceback
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, MapAdapter, Rule

from example_shop import partialpay
from example_shop.models import CartLine, Message, Order, Product, User, db
from flask_partialpay.audit import audit
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.saved_cards import SavedCard
from tests.conftest import Shopper, csrf_from

# Values that broke something once, or that break the usual assumptions about text.
KNOWN_HOSTILE = [
    "\x00",
    "1\x00",
    "a\x00b",
    "%00",
    "\x01\x1f\x7f",
    "\r\nX-Injected: 1",
    "\t",
    "\u00b2",  # superscript two: isdigit() says yes, int() says no
    "\u2460",  # circled one: the same
    "1001\u00b9",
    "\u0661\u0660\u0660\u0661",  # 1001 in Arabic-Indic digits: int() reads it
    "\uff11\uff10\uff10\uff11",  # 1001 in full-width digits
    str(2**31),
    str(2**63),
    str(2**64),
    str(10**30),
    "9" * 400,
    "-1",
    "-9223372036854775809",
    "0",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e3",
    "1e999",
    "",
    " ",
    "x" * 5000,
    "../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "' OR '1'='1' --",
    "1; DROP TABLE shop_order",
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}",
    "%s%s%n",
    "\U0001f4b0",  # four bytes in UTF-8: more than MariaDB's utf8mb3 holds
    "\u202e\u0644\u0627",
    "\ufeff",
    "//evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
]

# One walk with each of these alone, one of each kind that broke something; then one walk
# with all of KNOWN_HOSTILE mixed, then generated palettes.
UNIFORM_WALKS = [
    "\x00",
    "\r\n",  # the only control characters a form may hold: text areas send them
    "\u00b2",
    str(2**64),
    "",
    "x" * 1100,
    "\U0001f4b0",
]

CONTROL = [chr(code) for code in range(0x20)] + ["\x7f", "\x85", "\u2028"]
ODD_DIGITS = ["\u00b2", "\u00b3", "\u00b9", "\u2460", "\u2469", "\u0663", "\u0966", "\uff15"]

hostile_text = st.one_of(
    st.sampled_from(KNOWN_HOSTILE),
    st.text(
        alphabet=st.one_of(
            st.sampled_from(CONTROL + ODD_DIGITS + list("0123456789-.e/%'\"<>&;")),
            st.characters(exclude_categories=("Cs",)),
        ),
        max_size=30,
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(lambda digits: "9" * digits, st.integers(min_value=19, max_value=60)),
)

# Query parameters the views read; the pages' links add any others they use.
QUERY_NAMES = {"before", "after", "status", "q", "currency", "partial", "next"}
# Fields of the extension's and the shop's forms; the pages add the ones they show.
FORM_NAMES = {
    "email",
    "password",
    "quantity",
    "gateway",
    "key",
    "wallet",
    "amount",
    "currency",
    "direction",
    "reason",
    "idempotency_key",
    "use_wallet",
    "make_partial",
    "allow_partial",
    "minimum_percent",
    "success_percent",
    "card_number",
    "expiry",
    "cvc",
    "language",
    "next",
    "recipient",
    "body",
    "button",
    "offer",
    "order_number",
    "offer_name",
}
# What a person types into an empty field, so that the one hostile field reaches the view.
PLAUSIBLE = {
    "amount": "10",
    "email": "asha@example.com",
    "password": "not-her-password",
    "card_number": "4242 4242 4242 4242",
    "expiry": "12/39",
    "cvc": "123",
    "reason": "A walk through every form",
}
# Only this takes the session away from the person walking.
SESSION_ENDING = {"auth.logout"}


_VARIABLE = re.compile(r"<(?:(?P<converter>[a-z_]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_FIELD_NAME = re.compile(r'<(?:input|select|textarea|button)\b[^>]*\bname="([^"]+)"')
_QUERY_NAME = re.compile(r'href="[^"]*\?([^"#]*)"')


class _Forms(HTMLParser):
    """The POST forms of a page: where each goes, and the values it sends as shown."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form" and attr.get("method", "").lower() == "post":
            self._fields = {}
            self.forms.append((attr.get("action", ""), self._fields))
        if self._fields is None:
            return
        if tag == "option" and self._select is not None:
            if self._select not in self._fields or "selected" in attr:
                self._fields[self._select] = attr.get("value", "")
            return
        name = attr.get("name")
        if not name:
            return
        if tag == "input":
            kind = attr.get("type", "text")
            if kind in ("checkbox", "radio"):
                # A box ticked; of radio buttons, the one checked or else the first.
                if name not in self._fields or "checked" in attr:
                    self._fields[name] = attr.get("value", "y")
            elif kind != "submit":
                self._fields[name] = attr.get("value") or PLAUSIBLE.get(name, "")
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            self._fields[name] = ""

    def handle_data(self, data: str) -> None:
        if self._fields is not None and self._textarea is not None:
            self._fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Person:
    """Someone walking the site: their client and the CSRF token of their session."""

    name: str
    client: FlaskClient
    csrf_token: str


@dataclass(frozen=True)
class Target:
    rule: Rule
    method: str
    with_csrf: bool


@dataclass(frozen=True)
class ShownForm:
    """A form as a page showed it to someone."""

    person: Person
    action: str
    fields: tuple[tuple[str, str], ...]


@dataclass
class Crash:
    request: str
    what: str


@dataclass(repr=False)
class Walk:
    people: list[Person]
    targets: list[Target]
    shown_forms: list[ShownForm]
    real_values: dict[str, list[str]]
    query_names: list[str]
    form_names: list[str]
    adapter: MapAdapter
    crashes: list[Crash] = field(default_factory=list)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints its arguments with a failure; the crashes say all there is.
        printer.text(f"<walk of {len(self.targets)} routes and {len(self.shown_forms)} forms>")


class Palette(list[str]):
    """The hostile values of one walk; shown shortened when Hypothesis reports it."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"Palette([{', '.join(_shown(value) for value in self)}])")


def _shown(value: str) -> str:
    """A value as a failure shows it: a long one cut short, with its length."""
    return repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"


def _listed(values: dict[str, str]) -> str:
    return ", ".join(f"{name}={_shown(value)}" for name, value in values.items())


def _url_for_rule(rule: Rule, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        safe = "/" if match.group("converter") == "path" else ""
        return quote(values[match.group("name")], safe=safe)

    return _VARIABLE.sub(fill, rule.rule)


# -- the scene ------------------------------------------------------------------------------


def _set_the_scene(app: Flask) -> dict[str, list[str]]:
    """Orders, payments, a wallet, a cart and links: the real values of path variables."""
    asha = Shopper(app.test_client())
    asha.login("asha@example.com", "asha-demo")
    asha.add_to_cart("kurta")
    asha.checkout("manual")
    asha.add_to_cart("notebook")
    asha.checkout("sandbox_card")
    asha.add_to_cart("chai")
    user = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    partialpay.state().wallets.credit(
        str(user.id), "50", "INR", reason="adjustment", idempotency_key="walk-credit"
    )
    state = partialpay.state()
    state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=str(user.id),
            gateway="stripe",
            processor_customer="cus_walk",
            payment_method="pm_walk",
            brand="visa",
            last4="4242",
            exp_month=4,
            exp_year=2031,
        )
    )
    # The course's Buy message, the first the demo sends.
    buy_url = db.session.scalars(sa.select(Message.button_url).order_by(Message.id)).first()
    buy_page = asha.get(buy_url).get_data(as_text=True)
    asha.client.post(buy_url, data={"csrf_token": csrf_from(buy_page)})
    course = db.session.scalars(sa.select(Product).where(Product.sku == "course")).one()
    with app.test_request_context("/"):
        complete_url = partialpay.instalments.complete_payment_link(
            str(user.id), offer_name=course.name
        )
    return {
        "number": [order.number for order in db.session.scalars(sa.select(Order))],
        "reference": list(db.session.scalars(sa.select(OrderRecord.reference))),
        "public_id": [
            *db.session.scalars(sa.select(Payment.public_id)),
            *db.session.scalars(sa.select(LedgerAccount.public_id)),
        ],
        "card_id": list(db.session.scalars(sa.select(SavedCard.public_id))),
        "token": [buy_url.rsplit("/", 1)[-1], complete_url.rsplit("/", 1)[-1]],
        "offer_id": [str(course.id)],
        "product_id": [str(id_) for id_ in db.session.scalars(sa.select(Product.id))],
        "line_id": [str(id_) for id_ in db.session.scalars(sa.select(CartLine.id))],
        "customer_id": [str(user.id)],
        "gateway_name": ["sandbox_card", "manual", "wallet"],
        "filename": ["partialpay.css", "shop.css"],
    }


def _pages(rules: list[Rule], real: dict[str, list[str]]) -> list[str]:
    """Every page the real values lead to (each combination of them)."""
    pages = []
    for rule in rules:
        if "GET" not in (rule.methods or set()) or rule.endpoint.rsplit(".", 1)[-1] == "static":
            continue
        names = [m.group("name") for m in _VARIABLE.finditer(rule.rule)]
        for combination in itertools.product(*(real[name] for name in names)):
            pages.append(_url_for_rule(rule, dict(zip(names, combination, strict=True))))
    return pages


def _endpoint(adapter: MapAdapter, url: str, method: str) -> str | None:
    try:
        endpoint, _values = adapter.match(urlsplit(url).path, method=method)
    except HTTPException:
        return None
    return str(endpoint)


@pytest.fixture
def walk(app: Flask) -> Walk:
    real = _set_the_scene(app)
    people = []
    for name, login in [
        ("signed out", None),
        ("shopper", ("asha@example.com", "asha-demo")),
        ("admin", ("admin@example.com", "admin-demo")),
    ]:
        shopper = Shopper(app.test_client())
        if login is not None:
            shopper.login(*login)
        page = shopper.get("/login" if login is None else "/").get_data(as_text=True)
        people.append(Person(name, shopper.client, csrf_from(page)))
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
    targets = []
    for rule in rules:
        if "GET" in (rule.methods or set()):
            targets.append(Target(rule, "GET", with_csrf=False))
        if "POST" in (rule.methods or set()):
            targets.append(Target(rule, "POST", with_csrf=False))
            if rule.endpoint not in SESSION_ENDING:
                targets.append(Target(rule, "POST", with_csrf=True))
    # What the pages show each person: their forms, their fields and their links' queries.
    adapter = app.url_map.bind("localhost")
    form_names, query_names = set(FORM_NAMES), set(QUERY_NAMES)
    shown: dict[tuple[str, str, tuple[str, ...]], ShownForm] = {}
    for person in people:
        for url in _pages(rules, real):
            html = person.client.get(url, buffered=True).get_data(as_text=True)
            form_names.update(_FIELD_NAME.findall(html))
            for query in _QUERY_NAME.findall(html):
                pairs = unescape(query).split("&")
                query_names.update(pair.split("=", 1)[0] for pair in pairs)
            parser = _Forms()
            parser.feed(html)
            for action, fields in parser.forms:
                action = urljoin(url, unescape(action))
                endpoint = _endpoint(adapter, action, "POST")
                # One of each: the same form for each product or order adds nothing.
                key = (person.name, str(endpoint), tuple(sorted(fields)))
                if endpoint is not None and endpoint not in SESSION_ENDING and key not in shown:
                    shown[key] = ShownForm(person, action, tuple(sorted(fields.items())))
    form_names.discard("csrf_token")
    return Walk(
        people=people,
        targets=targets,
        shown_forms=list(shown.values()),
        real_values=real,
        query_names=sorted(query_names),
        form_names=sorted(form_names),
        adapter=adapter,
    )


# -- requests -------------------------------------------------------------------------------


def _request(
    walk: Walk,
    person: Person,
    method: str,
    url: str,
    *,
    query: dict[str, str],
    form: dict[str, str],
    described: str,
) -> None:
    """Send it; a 5xx or an exception is written down with what it takes to repeat it."""
    try:
        # No query of its own: a form's action may carry one (?status=&before=7).
        response = person.client.open(
            url, method=method, query_string=query or None, data=form or None, buffered=True
        )
    except Exception as error:  # every exception is a finding
        db.session.rollback()
        where = traceback.extract_tb(error.__traceback__)[-1]
        what = f"raised {type(error).__name__}: {str(error)[:300]}"
        walk.crashes.append(Crash(_described(person, method, url, query, form, described), what))
        walk.crashes[-1].what += f" (at {where.filename}:{where.lineno})"
        return
    response.close()
    if response.status_code >= 500:
        what = f"answered {response.status_code}"
        walk.crashes.append(Crash(_described(person, method, url, query, form, described), what))


def _described(
    person: Person,
    method: str,
    url: str,
    query: dict[str, str],
    form: dict[str, str],
    described: str,
) -> str:
    form_shown = {name: value for name, value in form.items() if value != person.csrf_token}
    return (
        f"{method} {url} as {person.name}{described}"
        f"\n    query: {_listed(query)}\n    form: {_listed(form_shown)}"
    )


def _send_to_route(
    walk: Walk, person: Person, target: Target, palette: list[str], turn: int, *, real_path: bool
) -> None:
    """Hostile values in every query parameter and form field; in the path too, or real."""

    def value(slot: int) -> str:
        return palette[(turn + slot) % len(palette)]

    names = [m.group("name") for m in _VARIABLE.finditer(target.rule.rule)]
    path_values = {}
    for slot, name in enumerate(names):
        hostile = value(slot)
        if isinstance(target.rule._converters[name], IntegerConverter) and not (
            hostile.isascii() and hostile.isdigit()
        ):
            # It would match no rule; a number too big for any column matches.
            hostile = str(2**64 + turn)
        real = walk.real_values[name]
        path_values[name] = real[(turn + slot) % len(real)] if real_path else hostile
    offset = len(names)
    query = {name: value(offset + i) for i, name in enumerate(walk.query_names)}
    offset += len(query)
    form: dict[str, str] = {}
    if target.method == "POST":
        form = {name: value(offset + i) for i, name in enumerate(walk.form_names)}
        form["csrf_token"] = person.csrf_token if target.with_csrf else value(offset + len(form))
    path = f"\n    path: {_listed(path_values)}" if names else ""
    token = " with a CSRF token" if target.with_csrf else ""
    url = _url_for_rule(target.rule, path_values)
    _request(walk, person, target.method, url, query=query, form=form, described=token + path)


def _send_shown_form(walk: Walk, shown: ShownForm, palette: list[str], turn: int) -> None:
    """The form as the page filled it in, each field in turn replaced by a hostile value
    and with it spliced into the middle of what was there."""
    fields = dict(shown.fields)
    for slot, name in enumerate(sorted(fields)):
        if name == "csrf_token":
            continue
        hostile = palette[(turn + slot) % len(palette)]
        was = fields[name]
        middle = max(len(was) // 2, 1)
        spliced = was[:middle] + hostile + was[middle + len(hostile) :]
        for how, value in [("replaced", hostile), ("spliced", spliced)]:
            _request(
                walk,
                shown.person,
                "POST",
                shown.action,
                query={},
                form={**fields, name: value},
                described=f" (the page's form, {name} {how})",
            )


# -- the walk -------------------------------------------------------------------------------


def _walk_examples(test: Any) -> Any:
    for value in reversed(UNIFORM_WALKS):
        test = example(palette=Palette([value]))(test)
    return example(palette=Palette(KNOWN_HOSTILE))(test)


@settings(
    derandomize=True,
    max_examples=3,
    deadline=None,
    # No shrinking: the failure lists every request that crashed, each with its values.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@_walk_examples
@given(palette=st.lists(hostile_text, min_size=1, max_size=12).map(Palette))
def test_no_route_answers_hostile_input_with_a_server_error(walk: Walk, palette: list[str]) -> None:
    walk.crashes.clear()
    for turn, target in enumerate(walk.targets):
        for index, person in enumerate(walk.people):
            _send_to_route(walk, person, target, palette, turn + index, real_path=False)
            if "<" in target.rule.rule:
                _send_to_route(walk, person, target, palette, turn + index + 1, real_path=True)
    for turn, shown in enumerate(walk.shown_forms):
        _send_shown_form(walk, shown, palette, turn)
    assert not walk.crashes, f"{len(walk.crashes)} requests crashed:\n" + "\n".join(
        f"- {crash.request}\n    -> {crash.what}" for crash in walk.crashes
    )
    db.session.expire_all()
    assert audit(db.session) == []
