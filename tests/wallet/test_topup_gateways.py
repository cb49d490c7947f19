"""Top-ups through any gateway ``PARTIALPAY_TOPUP_GATEWAYS`` allows, and only through those.

The money path runs the minimal host (``tests/host/minimal_host.py``) on SQLite, PostgreSQL
and MariaDB with the host's own gateway of ``tests/payments/test_host_gateway.py``: a hosted
page elsewhere and notifications signed with HMAC, posted to the extension's callback route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_partialpay import ConfigurationError, OrderRecord, PartialPay, Payment
from flask_partialpay.core.errors import UnknownGateway
from flask_partialpay.ledger.models import Transfer
from flask_partialpay.wallet import topups
from tests.conftest import csrf_from, form_value
from tests.host.minimal_host import db, partialpay
from tests.host.test_second_host import (  # noqa: F401 (new_database is a fixture)
    SUCCESS_CARD,
    Host,
    _start_host,
    new_database,
    pay_by_card,
    public_id_of,
)
from tests.payments.test_host_gateway import (
    CALLBACK_URL,
    FakePay,
    bare_app,
    signed_notification,
)

WALLET = "/partialpay/wallet"
ALL_THREE = ("fakepay", "sandbox_card", "manual")


def host_with(make_database: Callable[[str], str], **config: Any) -> Iterator[Host]:
    yield from _start_host(
        make_database("partialpay_topup_gateways"),
        gateways=[FakePay()],
        PARTIALPAY_GATEWAYS=ALL_THREE,
        **config,
    )


@pytest.fixture
def host(new_database: Callable[[str], str]) -> Iterator[Host]:  # noqa: F811
    yield from host_with(new_database)


def submit_topup(client: FlaskClient, amount: str, gateway: str | None) -> TestResponse:
    form = client.get(WALLET).get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(form),
        "idempotency_key": form_value(form, "idempotency_key"),
        "currency": "EUR",
        "amount": amount,
    }
    if gateway is not None:
        data["gateway"] = gateway
    return client.post(WALLET, data=data)


def balance(host: Host) -> Decimal:
    with host.app.app_context():
        return partialpay.wallets.balance(str(host.customer), "EUR")


def count(host: Host, model: type[Any], *where: Any) -> int:
    with host.app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def gateway_choices(page: str) -> list[str]:
    """The values of the page's gateway radio buttons, in order."""
    return re.findall(r'<input[^>]*name="gateway"[^>]*type="radio"[^>]*value="([^"]+)"', page)


# -- paying a top-up ------------------------------------------------------------------------


def test_a_topup_through_the_hosts_gateway_credits_the_wallet_once_on_its_callback(
    host: Host,
) -> None:
    client = host.client_for(host.customer)
    page = client.get(WALLET).get_data(as_text=True)
    # Every enabled gateway its processor confirms; neither the bank transfer nor the wallet.
    assert gateway_choices(page) == ["fakepay", "sandbox_card"]
    assert "Fake Pay" in page and "Card (sandbox)" in page

    started = submit_topup(client, "50", "fakepay")
    assert started.status_code == 302, started.get_data(as_text=True)
    public_id = public_id_of(started.location)
    assert started.location == f"https://fakepay.test/checkout/{public_id}"
    payment = host.payment(public_id)
    assert (payment.gateway, payment.status, payment.amount_minor) == ("fakepay", "pending", 5000)
    assert balance(host) == Decimal("0")

    body, headers = signed_notification(
        id="evt_topup",
        kind="payment.succeeded",
        payment=public_id,
        amount_minor=5000,
        currency="EUR",
        charge="ch_topup",
    )
    processor = host.app.test_client()
    answers = [processor.post(CALLBACK_URL, data=body, headers=headers) for _ in range(3)]
    assert [answer.get_data(as_text=True) for answer in answers] == ["ok", "duplicate", "duplicate"]
    assert host.payment(public_id).status == "succeeded"
    assert balance(host) == Decimal("50.00")
    assert count(host, Transfer, Transfer.reason == "topup") == 1


def test_a_topup_by_the_sandbox_card_still_credits_the_wallet(host: Host) -> None:
    client = host.client_for(host.customer)
    started = submit_topup(client, "20", "sandbox_card")
    assert started.status_code == 302
    assert started.location.startswith("/partialpay/card/")
    assert pay_by_card(client, started.location, SUCCESS_CARD).status_code == 302
    assert host.payment(public_id_of(started.location)).gateway == "sandbox_card"
    assert balance(host) == Decimal("20.00")
    assert count(host, Transfer, Transfer.reason == "topup") == 1


@pytest.mark.parametrize("forged", ["wallet", "manual", "paypal", ""])
def test_a_gateway_not_allowed_for_topups_is_refused_and_nothing_is_written(
    host: Host, forged: str
) -> None:
    client = host.client_for(host.customer)
    answer = submit_topup(client, "50", forged)
    assert answer.status_code == 200
    assert "Choose one of the payment methods offered." in answer.get_data(as_text=True)
    assert count(host, Payment) == 0
    assert count(host, OrderRecord) == 0
    assert balance(host) == Decimal("0")


def test_with_one_gateway_allowed_the_page_names_it_and_still_checks_the_form(
    new_database: Callable[[str], str],  # noqa: F811
) -> None:
    for host in host_with(new_database, PARTIALPAY_TOPUP_GATEWAYS=("fakepay",)):
        client = host.client_for(host.customer)
        page = client.get(WALLET).get_data(as_text=True)
        assert gateway_choices(page) == []
        assert '<input type="hidden" name="gateway" value="fakepay">' in page
        assert "Pay with Fake Pay;" in page
        assert submit_topup(client, "5", "sandbox_card").status_code == 200
        assert count(host, Payment) == 0
        started = submit_topup(client, "5", None)
        assert started.location.startswith("https://fakepay.test/checkout/")


def test_with_no_gateway_allowed_the_page_shows_no_form_and_refuses_a_post(
    new_database: Callable[[str], str],  # noqa: F811
) -> None:
    for host in host_with(new_database, PARTIALPAY_TOPUP_GATEWAYS=()):
        client = host.client_for(host.customer)
        page = client.get(WALLET).get_data(as_text=True)
        assert "Top-ups are not available in this shop at the moment." in page
        assert 'name="amount"' not in page
        # The token of another of the shopper's forms: the refusal is not CSRF's.
        token = csrf_from(client.get("/invoices/INV-7").get_data(as_text=True))
        answer = client.post(WALLET, data={"csrf_token": token, "currency": "EUR", "amount": "5"})
        assert answer.status_code == 404
        assert count(host, Payment) == 0


# -- the setting ---------------------------------------------------------------------------


def topup_names(**config: Any) -> list[str]:
    app, database = bare_app(**config)
    extension = PartialPay()
    extension.init_app(app, database, gateways=[FakePay()])
    with app.app_context():
        return list(extension.state().gateway_registry.topup)


def test_by_default_every_processor_confirmed_gateway_pays_topups_never_a_bank_transfer() -> None:
    assert topup_names(PARTIALPAY_GATEWAYS=("manual", "fakepay", "sandbox_card")) == [
        "fakepay",
        "sandbox_card",
    ]
    assert topup_names(PARTIALPAY_GATEWAYS=("manual",)) == []


def test_a_bank_transfer_pays_topups_when_listed() -> None:
    assert topup_names(
        PARTIALPAY_GATEWAYS=("manual", "sandbox_card"),
        PARTIALPAY_TOPUP_GATEWAYS=("manual", "sandbox_card"),
    ) == ["manual", "sandbox_card"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (("wallet",), "names 'wallet': a top-up cannot be paid from the wallet it credits"),
        (("sandbox_card", "wallet"), "a top-up cannot be paid from the wallet it credits"),
        (("fakepay",), "names 'fakepay', which PARTIALPAY_GATEWAYS does not enable"),
        (("paypal",), "names 'paypal', which PARTIALPAY_GATEWAYS does not enable"),
        ("sandbox_card", "must be None or a list or tuple of gateway names"),
    ],
)
def test_a_topup_gateway_setting_that_cannot_work_stops_init_app(
    value: object, message: str
) -> None:
    app, database = bare_app(PARTIALPAY_TOPUP_GATEWAYS=value)
    with pytest.raises(ConfigurationError) as refused:
        PartialPay().init_app(app, database, gateways=[FakePay()])
    assert message in str(refused.value)
    assert "enabled gateways are 'sandbox_card', 'manual'." in str(refused.value)


def test_the_service_refuses_a_topup_paid_by_the_wallet() -> None:
    app, database = bare_app(PARTIALPAY_WALLET_CURRENCIES=("EUR",))
    extension = PartialPay(app, database)
    with app.test_request_context():
        extension.create_tables()
        state = extension.state()
        with pytest.raises(UnknownGateway):
            state.transaction(
                lambda: topups.start(
                    state.session,
                    owner_id="1",
                    amount=Decimal("5"),
                    currency="EUR",
                    gateway=state.wallet_gateway,
                    return_url="/",
                    idempotency_key=None,
                )
            )
        assert state.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_a_repeated_topup_form_naming_another_gateway_starts_nothing_new(host: Host) -> None:
    client = host.client_for(host.customer)
    form = client.get(WALLET).get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(form),
        "idempotency_key": form_value(form, "idempotency_key"),
        "currency": "EUR",
        "amount": "30",
        "gateway": "fakepay",
    }
    first = client.post(WALLET, data=data)
    assert first.status_code == 302
    again = client.post(WALLET, data={**data, "gateway": "sandbox_card"})
    assert again.status_code == 200
    assert count(host, Payment) == 1
    assert host.payment(public_id_of(first.location)).gateway == "fakepay"
