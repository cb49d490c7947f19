"""Automatic charges end to end against localstripe, on each database.

The example shop on HTTP pays through localstripe (tests/stripe/localstripe_fixtures.py),
with e-mail sent to the loopback SMTP server of tests/mail. Asha buys the demo's "Weaving
workshop" (25% first, then three monthly instalments of $25.00), pays the first payment
by Stripe with "Save this card" ticked, and turns automatic payments on with that card on
the order's "My payments" page. On the first instalment's due date ``flask partialpay
run-due`` charges the card off session at localstripe; localstripe's signed webhook
confirms it; the instalment is paid and the "charged" e-mail reaches her. Runs later that
day and on the next days make no other PaymentIntent at localstripe, and the books audit
clean.
"""

# ruff: noqa: F811 (the fixtures imported below are taken as arguments)
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.demo import DEMO_PLAN_MESSAGE
from example_shop.models import Message, db
from flask_partialpay import Payment
from flask_partialpay.instalments.models import PlanCharge
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.conftest import Shopper, app, csrf_from  # noqa: F401 (the shop's app, not the bare one)
from tests.instalments import test_instalments as instalments
from tests.mail.conftest import SmtpServer
from tests.plan_charges.conftest import ORDER_DAY, DayClock
from tests.stripe import test_localstripe_flows as flows
from tests.stripe.localstripe_fixtures import (  # noqa: F401 (fixtures of this module)
    StripeShop,
    localstripe,
    localstripe_data,
    localstripe_settings,
    stripe_sdk,
    stripe_shop,
)

stripe = stripe_sdk()

ASHA = "asha@example.com"
STRIPE = "stripe"
#: The workshop bought on the tests' ORDER_DAY: its first instalment falls due a month on.
FIRST_DUE = ORDER_DAY.replace(month=ORDER_DAY.month + 1)
CHARGED = "instalment_charged"
CREATE = ("POST", "/v1/payment_intents")

api = flows.api
text = flows.text
fresh = flows.fresh


@pytest.fixture
def shop_config(localstripe_settings: dict[str, Any], smtp_server: SmtpServer) -> dict[str, Any]:
    return {
        **localstripe_settings,
        "PARTIALPAY_MAIL": True,
        "PARTIALPAY_MAIL_SENDER": "shop@example.com",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_TIMEOUT": 5,
        # The shop's address, for the links ``run-due`` writes outside any request.
        "SERVER_NAME": "shop.example",
        "PARTIALPAY_PLAN_RETRY_DAYS": (1, 3, 5),
        "PARTIALPAY_PLAN_GRACE_DAYS": 5,
    }


@pytest.fixture
def shop_clock(app: Flask, clock: DayClock) -> DayClock:
    """The shop's clock, on the tests' ORDER_DAY until a test moves it."""
    app.extensions["partialpay"].clock = clock
    return clock


@dataclass(frozen=True)
class StripeCall:
    method: str
    path: str
    thread: str
    in_transaction: bool


class WatchedRequests(stripe.RequestsClient):  # type: ignore[misc]
    """The SDK's own HTTP client, noting each call and whether the calling thread's session
    had a database transaction open (a charge must be made with none)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[StripeCall] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, **kwargs: Any
    ) -> Any:
        self.calls.append(
            StripeCall(
                method.upper(),
                urlsplit(url).path,
                threading.current_thread().name,
                db.session().in_transaction(),
            )
        )
        return super().request(method, url, headers, post_data, **kwargs)


@pytest.fixture
def watched(stripe_shop: StripeShop) -> Iterator[WatchedRequests]:
    gateway = partialpay.state().gateway(STRIPE)
    assert isinstance(gateway, StripeGateway)
    client = WatchedRequests()
    gateway.api.use_http_client(client)
    yield client
    gateway.api.use_http_client(None)


# -- helpers --------------------------------------------------------------------------------


def run_due(app: Flask) -> dict[str, str]:
    """``flask partialpay run-due``, as cron runs it: what each job said."""
    db.session.commit()
    result = flows.cli(app, "run-due")
    assert result.exit_code == 0, result.output
    lines = [line.split(": ", 1) for line in result.output.splitlines()]
    return {name: said for name, said in lines}


def intents_at_localstripe(api: Any) -> list[Any]:
    return list(api.payment_intents.list({"limit": 100}).data)


def plan_charges(reference: str) -> list[PlanCharge]:
    fresh()
    account = partialpay.orders.find(reference)
    assert account is not None
    return list(
        db.session.scalars(
            sa.select(PlanCharge).where(PlanCharge.order_id == account.id).order_by(PlanCharge.id)
        )
    )


def payment_of(charge: PlanCharge) -> Payment:
    fresh()
    return db.session.get_one(Payment, charge.payment_id)


def buy_the_workshop(shopper: Shopper) -> str:
    """Asha opens the Buy button of the admin's message about the workshop; the reference."""
    url = db.session.scalars(
        sa.select(Message.button_url).where(Message.body == DEMO_PLAN_MESSAGE[2])
    ).one()
    return instalments.open_offer(shopper, url)


def pay_first_by_stripe_saving_the_card(
    shop: StripeShop,
    shopper: Shopper,
    api: Any,
    reference: str,
) -> None:
    response = instalments.pay(shopper, reference, "25.00", gateway=STRIPE)
    assert response.status_code == 302, text(response)
    pay_page = response.headers["Location"]
    page = text(shopper.get(pay_page))
    consent = shopper.client.post(
        pay_page + "/save-card", data={"csrf_token": csrf_from(page), "save": "y"}
    )
    assert (consent.status_code, consent.get_json()) == (200, {"saved": True})
    [first] = [p for p in partialpay.orders.payments(reference) if p.gateway == STRIPE]
    intent = flows.intent_of(first)
    assert flows.pay_as_stripe_js(api, intent, "pm_card_visa").status == "succeeded"
    assert shop.webhooks.wait_for("payment_intent.succeeded", intent).status == 200


def turn_automatic_payments_on(shopper: Shopper, reference: str) -> None:
    [card] = flows.saved_cards()
    url = f"/partialpay/my-payments/{reference}"
    page = text(shopper.get(url))
    assert "Visa •••• 4242" in page
    answer = shopper.client.post(
        f"{url}/automatic-payments",
        data={"csrf_token": csrf_from(page), "card": card.public_id, "agree": "y"},
    )
    assert answer.status_code == 302, text(answer)
    assert "On: Visa •••• 4242 is charged on each due date" in text(shopper.get(url))


def paid_minor(reference: str) -> int:
    fresh()
    return instalments.account(reference).paid_minor


def statuses(reference: str) -> list[str]:
    fresh()
    account = partialpay.orders.find(reference)
    assert account is not None
    [plan] = partialpay.instalments.order_plans([account]).values()
    return [str(state.status) for state in plan.states]


# -- the test -------------------------------------------------------------------------------


def test_a_due_instalment_is_charged_off_session_at_localstripe_once(
    app: Flask,
    stripe_shop: StripeShop,
    shopper: Shopper,
    api: Any,
    shop_clock: DayClock,
    watched: WatchedRequests,
    smtp_server: SmtpServer,
) -> None:
    reference = buy_the_workshop(shopper)
    pay_first_by_stripe_saving_the_card(stripe_shop, shopper, api, reference)
    assert paid_minor(reference) == 2500
    turn_automatic_payments_on(shopper, reference)
    before = {intent.id for intent in intents_at_localstripe(api)}
    assert len(before) == 1  # the first payment's

    # The day before: nothing is due.
    shop_clock.move_to(FIRST_DUE - timedelta(days=1))
    assert run_due(app)["plan-charges"] == "0 done"
    assert len(intents_at_localstripe(api)) == 1

    # The due date: the saved card is charged off session, once.
    shop_clock.move_to(FIRST_DUE)
    watched.calls.clear()
    assert run_due(app)["plan-charges"] == "1 done"
    [charge] = plan_charges(reference)
    paid_by = payment_of(charge)
    assert paid_by.idempotency_key == f"plan-charge:{charge.instalment_id}:1"
    intent_id = flows.intent_of(paid_by)
    assert {intent.id for intent in intents_at_localstripe(api)} == before | {intent_id}
    [card] = flows.saved_cards()
    at_stripe = api.payment_intents.retrieve(intent_id)
    assert (at_stripe.amount, at_stripe.currency, at_stripe.status) == (2500, "usd", "succeeded")
    assert (at_stripe.customer, at_stripe.payment_method) == (
        card.processor_customer,
        card.payment_method,
    )
    [made] = [call for call in watched.calls if (call.method, call.path) == CREATE]
    assert not made.in_transaction, "Stripe was called with a database transaction open"
    # Run again at once, before localstripe's webhook: the charge is under way, not due.
    assert run_due(app)["plan-charges"] == "0 done"
    assert len(intents_at_localstripe(api)) == 2

    # localstripe's signed webhook decides the payment.
    assert stripe_shop.webhooks.wait_for("payment_intent.succeeded", intent_id).status == 200
    assert payment_of(charge).status == "succeeded"
    assert paid_minor(reference) == 5000
    assert statuses(reference) == ["paid", "paid", "upcoming", "upcoming"]
    [mail] = [m for m in smtp_server.to(ASHA) if "was charged" in m.subject]
    assert mail.subject == f"Instalment 1 of order {reference} was charged"
    assert "We charged $25.00 to your saved card for instalment 1." in mail.part("plain")

    # Again the same day, later that day, and on the retry days: nothing more anywhere.
    for day, minutes in (
        (FIRST_DUE, 0),
        (FIRST_DUE, 90),
        *((FIRST_DUE + timedelta(days=d), 0) for d in (1, 2, 3, 5, 6)),
    ):
        shop_clock.move_to(day)
        shop_clock.later(minutes)
        assert run_due(app)["plan-charges"] == "0 done", day
    assert {intent.id for intent in intents_at_localstripe(api)} == before | {intent_id}
    assert len(plan_charges(reference)) == 1
    fresh()
    sent = db.session.scalars(sa.select(MailMessage.event).where(MailMessage.event == CHARGED))
    assert list(sent) == [CHARGED]
    assert len([m for m in smtp_server.to(ASHA) if "was charged" in m.subject]) == 1
    # None of the shop's calls from this thread (the runs, the pages) had a transaction open.
    here = threading.current_thread().name
    assert [c for c in watched.calls if c.in_transaction and c.thread == here] == []
    flows.assert_audit_clean(app)
