"""A host's own gateway: registered in a few lines, offered, paid with, and refused when wrong.

The end-to-end test runs the minimal host (``tests/host/minimal_host.py``) on SQLite, PostgreSQL
and MariaDB with a gateway defined here: a hosted page elsewhere and notifications signed
with HMAC, applied through the extension's callback route as a real processor's would be.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import (
    ConfigurationError,
    GatewayEvent,
    PartialPay,
    Payment,
    RefundNotPossible,
    SignatureError,
    StartOutcome,
)
from flask_partialpay.audit import audit
from flask_partialpay.core.errors import UnknownGateway
from flask_partialpay.payments.gateways import registry as gateway_registry
from tests.host.minimal_host import db
from tests.host.test_second_host import (  # noqa: F401 (new_database is a fixture)
    REFERENCE,
    Host,
    _start_host,
    new_database,
    public_id_of,
    start_payment,
)

FAKE_SECRET = b"fake-processor-secret"
CALLBACK_URL = "/partialpay/gateways/fakepay/callback"


# -- the host's gateway: all a host writes -------------------------------------------------


SANDBOX_AND_MANUAL = ("sandbox_card", "manual")


class FakePay:
    """A processor with a hosted payment page and signed notifications."""

    confirmed_by_manager = False
    supports_refund = False

    def __init__(self, name: str = "fakepay") -> None:
        self.name = name

    def label(self) -> str:
        return "Fake Pay"

    def start(self, payment: Payment) -> StartOutcome:
        return StartOutcome(f"https://fakepay.test/checkout/{payment.public_id}")

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        expected = hmac.new(FAKE_SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("fakepay-signature", ""), expected):
            raise SignatureError()
        event = json.loads(body)
        return GatewayEvent(
            event_id=event["id"],
            kind=event["kind"],
            payment_public_id=event["payment"],
            amount_minor=event["amount_minor"],
            currency=event["currency"],
            gateway_reference=event["charge"],
        )

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        raise RefundNotPossible(amount=amount)


def signed_notification(**event: Any) -> tuple[bytes, dict[str, str]]:
    """What FakePay's processor posts to the shop: a JSON event and its signature."""
    body = json.dumps(event).encode()
    signature = hmac.new(FAKE_SECRET, body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "FakePay-Signature": signature}


@pytest.fixture
def host(new_database: Callable[[str], str]) -> Iterator[Host]:  # noqa: F811
    yield from _start_host(
        new_database("partialpay_host_gateway"),
        gateways=[FakePay()],
        PARTIALPAY_GATEWAYS=("fakepay", "sandbox_card", "manual"),
    )


# -- end to end ------------------------------------------------------------------------------


def test_a_shopper_pays_an_invoice_with_the_hosts_own_gateway(host: Host) -> None:
    client = host.client_for(host.customer)
    invoice_page = client.get(f"/invoices/{REFERENCE}").get_data(as_text=True)
    assert 'value="fakepay"' in invoice_page and "Fake Pay" in invoice_page

    # Pay sends the shopper to the processor's own page; nothing is paid yet.
    redirect_url = start_payment(client, "fakepay")
    public_id = public_id_of(redirect_url)
    assert redirect_url == f"https://fakepay.test/checkout/{public_id}"
    payment = host.payment(public_id)
    assert (payment.gateway, payment.status, payment.amount_minor) == ("fakepay", "pending", 12000)
    assert host.account() == ("open", 0, 12000)

    # The processor reports the charge to the extension's callback route.
    body, headers = signed_notification(
        id="evt_1",
        kind="payment.succeeded",
        payment=public_id,
        amount_minor=12000,
        currency="EUR",
        charge="ch_1",
    )
    processor = host.app.test_client()
    forged = processor.post(CALLBACK_URL, data=body, headers={**headers, "FakePay-Signature": "0"})
    assert (forged.status_code, forged.get_data(as_text=True)) == (400, "bad signature")
    assert host.payment(public_id).status == "pending"
    signed = processor.post(CALLBACK_URL, data=body, headers=headers)
    assert (signed.status_code, signed.get_data(as_text=True)) == (200, "ok")
    again = processor.post(CALLBACK_URL, data=body, headers=headers)
    assert (again.status_code, again.get_data(as_text=True)) == (200, "duplicate")

    payment = host.payment(public_id)
    assert (payment.status, payment.gateway_reference) == ("succeeded", "ch_1")
    assert host.account() == ("completed", 12000, 12000)
    assert host.invoice().paid
    page = client.get(f"/invoices/{REFERENCE}").get_data(as_text=True)
    assert '<p id="status">Paid</p>' in page
    # The admin's Payments tab names the method as the gateway labels itself.
    listing = host.client_for(host.staff).get("/partialpay/admin/payments")
    assert listing.status_code == 200 and "Fake Pay" in listing.get_data(as_text=True)
    with host.app.app_context():
        assert audit(db.session()) == []


# -- registration and its refusals ------------------------------------------------------------


def bare_app(**config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bare")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", TESTING=True)
    app.config.update(PARTIALPAY_GATEWAYS=SANDBOX_AND_MANUAL)  # a test host: the sandbox
    app.config.update(config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


def offered(app: Flask, extension: PartialPay) -> list[str]:
    with app.app_context():
        return [gateway.name for gateway in extension.checkout.available_gateways()]


def test_a_gateway_given_to_the_constructor_serves_every_app() -> None:
    extension = PartialPay(gateways=[FakePay()])
    first, first_db = bare_app(PARTIALPAY_GATEWAYS=("manual", "fakepay"))
    second, second_db = bare_app(PARTIALPAY_GATEWAYS=("fakepay",))
    extension.init_app(first, first_db)
    extension.init_app(second, second_db)
    assert offered(first, extension) == ["manual", "fakepay"]
    assert offered(second, extension) == ["fakepay"]


def test_a_registered_gateway_that_is_not_enabled_is_not_offered_nor_found() -> None:
    app, database = bare_app(PARTIALPAY_GATEWAYS=("manual",))
    extension = PartialPay()
    extension.init_app(app, database, gateways=[FakePay()])
    assert offered(app, extension) == ["manual"]
    with app.app_context():
        assert "fakepay" in extension.state().gateway_registry.registered
        with pytest.raises(UnknownGateway):
            extension.state().gateway("fakepay")
    body, headers = signed_notification(id="evt_1")
    answer = app.test_client().post(CALLBACK_URL, data=body, headers=headers)
    assert (answer.status_code, answer.get_data(as_text=True)) == (404, "unknown gateway")


def test_the_pages_name_the_enabled_gateways_and_the_wallet_from_one_dict() -> None:
    app, database = bare_app(PARTIALPAY_GATEWAYS=("fakepay", "manual"))
    extension = PartialPay()
    extension.init_app(app, database, gateways=[FakePay()])
    with app.app_context():
        by_name = extension.state().gateway_registry.by_name()
        assert list(by_name) == ["fakepay", "manual", "wallet"]
        assert by_name["wallet"] is extension.state().wallet_gateway
        assert all(extension.state().gateway(name) is by_name[name] for name in by_name)
        assert "sandbox_card" not in by_name  # registered, not enabled


def test_an_enabled_name_nothing_registered_is_refused_with_the_registered_names() -> None:
    app, database = bare_app(PARTIALPAY_GATEWAYS=("manual", "fakepay", "paypal"))
    with pytest.raises(ConfigurationError) as refused:
        PartialPay().init_app(app, database, gateways=[FakePay()])
    message = str(refused.value)
    assert "PARTIALPAY_GATEWAYS names 'paypal'," in message
    assert "the registered gateways are 'fakepay', 'manual', 'sandbox_card', 'stripe'." in message


def test_enabling_the_wallet_says_it_is_offered_by_the_extension() -> None:
    app, database = bare_app(PARTIALPAY_GATEWAYS=("wallet",))
    with pytest.raises(ConfigurationError, match="the wallet is offered by the extension"):
        PartialPay(app, database)


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("manual", "the built-in 'manual' gateway"),
        ("sandbox_card", "the built-in 'sandbox_card' gateway"),
        ("stripe", "the built-in 'stripe' gateway"),
        ("wallet", "the built-in wallet gateway"),
    ],
)
def test_a_host_gateway_may_not_take_a_built_in_name(name: str, other: str) -> None:
    app, database = bare_app()
    with pytest.raises(ConfigurationError) as refused:
        PartialPay().init_app(app, database, gateways=[FakePay(name)])
    message = str(refused.value)
    assert f"Two gateways are named {name!r}: {other} and " in message
    assert "test_host_gateway.FakePay (given to PartialPay or init_app)" in message


def test_two_host_gateways_with_one_name_are_refused() -> None:
    app, database = bare_app()
    extension = PartialPay(gateways=[FakePay()])
    with pytest.raises(ConfigurationError, match="Two gateways are named 'fakepay'"):
        extension.init_app(app, database, gateways=[FakePay()])


@pytest.mark.parametrize(
    ("gateway", "why"),
    [
        (object(), "is not a flask_partialpay.Gateway: it lacks name, confirmed_by_manager"),
        (FakePay("fake pay"), "is named 'fake pay'; a gateway's name is 1 to 32 letters"),
        (FakePay("f" * 33), "a gateway's name is 1 to 32 letters"),
    ],
)
def test_something_that_is_not_a_usable_gateway_is_refused(gateway: object, why: str) -> None:
    app, database = bare_app()
    with pytest.raises(ConfigurationError, match=why):
        PartialPay().init_app(app, database, gateways=[gateway])  # type: ignore[list-item]


# -- the entry-point group --------------------------------------------------------------------


def installed(monkeypatch: pytest.MonkeyPatch, *entries: tuple[str, str]) -> None:
    """Pretend installed packages declare ``entries`` (name, "module:attribute")."""
    declared = [
        EntryPoint(name, value, gateway_registry.ENTRY_POINT_GROUP) for name, value in entries
    ]

    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == "flask_partialpay.gateways"
        return declared

    monkeypatch.setattr(gateway_registry, "entry_points", entry_points)


def test_a_gateway_an_installed_package_declares_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed(monkeypatch, ("fakepay", "tests.payments.test_host_gateway:FakePay"))
    app, database = bare_app(PARTIALPAY_GATEWAYS=("fakepay", "manual"))
    extension = PartialPay(app, database)
    assert offered(app, extension) == ["fakepay", "manual"]


def test_an_entry_point_not_named_after_its_gateway_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed(monkeypatch, ("acme", "tests.payments.test_host_gateway:FakePay"))
    app, database = bare_app()
    with pytest.raises(ConfigurationError, match="makes a gateway named 'fakepay'"):
        PartialPay(app, database)


def test_an_entry_point_and_a_host_gateway_with_one_name_are_both_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed(monkeypatch, ("fakepay", "tests.payments.test_host_gateway:FakePay"))
    app, database = bare_app()
    with pytest.raises(ConfigurationError) as refused:
        PartialPay().init_app(app, database, gateways=[FakePay()])
    message = str(refused.value)
    assert "FakePay (given to PartialPay or init_app) and the entry point fakepay" in message


def test_an_entry_point_that_cannot_be_loaded_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed(monkeypatch, ("fakepay", "tests.no_such_module:FakePay"))
    app, database = bare_app()
    with pytest.raises(
        ConfigurationError, match=r"'tests\.no_such_module:FakePay' could not be loaded"
    ):
        PartialPay(app, database)


def test_an_app_given_no_gateway_offers_the_built_in_ones_as_before() -> None:
    app, database = bare_app()
    assert offered(app, PartialPay(app, database)) == ["sandbox_card", "manual"]
