"""Saved cards with Stripe at the SDK's HTTP boundary (recorded responses).

The shopper's consent on the card page, the card saved when the payment's webhook says it
succeeded, one-click payments (a decline, a bank that wants the cardholder), removal, and
the rule that the shop holds no database transaction while Stripe answers.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import PaymentError
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.models import Payment
from flask_partialpay.payments.saved_cards import ProcessorCustomer, SavedCard
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.conftest import csrf_from
from tests.stripe import recorded
from tests.stripe.helpers import (
    ASHA,
    Customer,
    deliver,
    pay_with_stripe,
    payment_named,
    place_order,
    sign_in_support,
)
from tests.stripe.recorded import Answer, RecordedStripe, Sent
from tests.unit import bare

RAVI = Customer("8")
SAVED_CARDS = "/partialpay/saved-cards"


class WatchedStripe(RecordedStripe):
    """Recorded Stripe that also notes each request made while the shop's session had a
    database transaction open (it must have none)."""

    def __init__(self) -> None:
        super().__init__()
        self.under_transaction: list[str] = []
        # Off while the gateway's own start and card page run: saved cards are watched.
        self.watching = True

    @contextlib.contextmanager
    def unwatched(self) -> Iterator[None]:
        self.watching = False
        try:
            yield
        finally:
            self.watching = True

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self.watching and bare.db.session().in_transaction():
            self.under_transaction.append(f"{method.upper()} {url}")
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def recorded_stripe() -> RecordedStripe:
    return WatchedStripe()


class Browser(FlaskClient):
    """Each request in a context of its own (its own app context and session), as in
    production; the test's session then ends its transaction to see what was committed."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        def alone() -> Any:
            try:
                return super(Browser, self).open(*args, **kwargs)
            finally:
                self._context_stack.close()

        response = contextvars.Context().run(alone)
        if has_app_context():  # not in the redirects it follows, each run alone as well
            bare.db.session.commit()
        return response


def browser(app: Flask, customer: Customer) -> Browser:
    sign_in_support(app)
    app.test_client_class = Browser
    client = app.test_client()
    assert isinstance(client, Browser)
    with client.session_transaction() as session:
        session["_user_id"] = customer.get_id()
        session["_fresh"] = True
    return client


@pytest.fixture
def asha(stripe_app: Flask) -> Browser:
    return browser(stripe_app, ASHA)


@pytest.fixture
def ravi(stripe_app: Flask) -> Browser:
    return browser(stripe_app, RAVI)


@pytest.fixture
def watched(recorded_stripe: RecordedStripe) -> Iterator[WatchedStripe]:
    assert isinstance(recorded_stripe, WatchedStripe)
    yield recorded_stripe
    assert recorded_stripe.under_transaction == []


# -- Stripe's objects ----------------------------------------------------------------------


def intent_of(payment: Payment, **extra: Any) -> dict[str, Any]:
    stored = payment_named(payment.public_id)
    assert stored.gateway_reference is not None
    return recorded.payment_intent(
        intent_id=stored.gateway_reference,
        amount=stored.amount_minor,
        currency=stored.currency.lower(),
        metadata={"partialpay_payment": stored.public_id},
        **extra,
    )


def card_method(method_id: str, customer: str, *, last4: str = "4242") -> dict[str, Any]:
    return {
        "id": method_id,
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "created": 1_700_000_000,
        "livemode": False,
        "metadata": {},
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "card": {
            "brand": "visa",
            "last4": last4,
            "exp_month": 4,
            "exp_year": 2031,
            "country": "US",
            "funding": "credit",
        },
    }


def made_customer(sent: Sent) -> Answer:
    return Answer(
        200,
        {
            "id": recorded.new_id("cus"),
            "object": "customer",
            "created": 1_700_000_000,
            "livemode": False,
            "metadata": {"partialpay_customer": sent.params["metadata[partialpay_customer]"]},
        },
    )


def start(app: Flask, watched: WatchedStripe, reference: str, customer: Customer = ASHA) -> Payment:
    """An order of 25.00 and its Stripe payment, started: its PaymentIntent exists."""
    watched.expect("POST", "/v1/payment_intents", recorded.created_intent)
    place_order(reference, "25.00", customer=customer)
    with watched.unwatched():
        payment, _ = pay_with_stripe(app, reference, customer=customer)
    return payment_named(payment.public_id)


def keep_card(
    customer: Customer = ASHA, method_id: str = "pm_saved", last4: str = "4242"
) -> SavedCard:
    state = PartialPay.state()
    owner = customer.get_id()
    return state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=owner,
            gateway="stripe",
            processor_customer=f"cus_of_{owner}",
            payment_method=method_id,
            brand="visa",
            last4=last4,
            exp_month=4,
            exp_year=2031,
        )
    )


def keep_customer(customer: Customer = ASHA) -> None:
    state = PartialPay.state()
    owner = customer.get_id()
    state.transaction(
        lambda: saved_cards.keep_processor_customer(
            state.session, "stripe", owner, f"cus_of_{owner}"
        )
    )


def pay_page(client: Browser, watched: WatchedStripe, payment: Payment) -> str:
    watched.expect(
        "GET", f"/v1/payment_intents/{payment.gateway_reference}", Answer(200, intent_of(payment))
    )
    with watched.unwatched():
        response = client.get(f"/partialpay/stripe/pay/{payment.public_id}")
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def consent(client: Browser, payment: Payment, page: str, *, save: bool) -> Any:
    data = {"csrf_token": csrf_from(page)}
    if save:
        data["save"] = "y"
    return client.post(f"/partialpay/stripe/pay/{payment.public_id}/save-card", data=data)


def one_click_url(payment: Payment, card: SavedCard) -> str:
    return f"/partialpay/stripe/pay/{payment.public_id}/saved-cards/{card.public_id}"


def one_click(client: Browser, payment: Payment, card: SavedCard, page: str) -> Any:
    return client.post(
        one_click_url(payment, card),
        data={"csrf_token": csrf_from(page), "idempotency_key": _key_from(page)},
    )


def _key_from(page: str) -> str:
    marker = 'name="idempotency_key" type="hidden" value="'
    start_at = page.index(marker) + len(marker)
    return page[start_at : page.index('"', start_at)]


def saved_of(customer: Customer = ASHA) -> list[SavedCard]:
    bare.db.session.commit()
    return saved_cards.saved_cards(bare.db.session, customer.get_id())


# -- consent on the card page --------------------------------------------------------------


def test_the_card_page_offers_to_save_the_card_unticked(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-1")

    page = pay_page(asha, watched, payment)

    assert "Save this card for my next payments" in page
    assert 'name="save" type="checkbox"' in page and "checked" not in page
    assert "Pay with" not in page  # no saved card yet


def test_ticked_consent_makes_the_stripe_customer_once_and_sets_up_the_intent(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-2")
    page = pay_page(asha, watched, payment)
    watched.expect("POST", "/v1/customers", made_customer)
    watched.expect(
        "POST",
        f"/v1/payment_intents/{payment.gateway_reference}",
        Answer(200, intent_of(payment)),
        times=2,
    )

    first = consent(asha, payment, page, save=True)
    again = consent(asha, payment, page, save=True)

    assert (first.status_code, first.get_json()) == (200, {"saved": True})
    assert again.status_code == 200
    [made] = watched.executed_to("POST", "/v1/customers")
    assert made.params == {"metadata[partialpay_customer]": ASHA.get_id()}
    assert made.idempotency_key == f"partialpay-customer-{ASHA.get_id()}"
    kept = saved_cards.processor_customer(bare.db.session, "stripe", ASHA.get_id())
    updates = watched.executed_to("POST", f"/v1/payment_intents/{payment.gateway_reference}")
    assert [sent.params for sent in updates] == [
        {"customer": kept, "setup_future_usage": "off_session"}
    ] * 2
    assert bare.db.session.query(ProcessorCustomer).count() == 1
    assert saved_of() == []  # nothing is saved before the payment succeeds


def test_unticked_consent_undoes_an_earlier_one_and_otherwise_changes_nothing(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-3")
    page = pay_page(asha, watched, payment)
    intent_path = f"/v1/payment_intents/{payment.gateway_reference}"
    sent_before = len(watched.sent)

    never = consent(asha, payment, page, save=False)

    assert (never.status_code, never.get_json()) == (200, {"saved": False})
    assert len(watched.sent) == sent_before  # never consented: Stripe is not asked

    keep_customer()
    watched.expect("GET", intent_path, Answer(200, intent_of(payment)))

    plain = consent(asha, payment, page, save=False)

    assert (plain.status_code, plain.get_json()) == (200, {"saved": False})
    assert watched.executed_to("POST", intent_path) == []

    watched.expect(
        "GET", intent_path, Answer(200, intent_of(payment, setup_future_usage="off_session"))
    )
    watched.expect("POST", intent_path, Answer(200, intent_of(payment)))

    undone = consent(asha, payment, page, save=False)

    assert undone.status_code == 200
    [update] = watched.executed_to("POST", intent_path)
    assert update.params == {"setup_future_usage": ""}


def test_consent_needs_the_csrf_token_and_the_shoppers_own_payment(
    stripe_app: Flask, asha: Browser, ravi: Browser, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-4")
    page = pay_page(asha, watched, payment)
    url = f"/partialpay/stripe/pay/{payment.public_id}/save-card"

    assert asha.post(url, data={"save": "y"}).status_code == 400
    assert ravi.post(url, data={"save": "y", "csrf_token": csrf_from(page)}).status_code == 404
    assert asha.post("/partialpay/stripe/pay/no-such-payment/save-card", data={}).status_code == 404
    assert watched.executed_to("POST", "/v1/customers") == []


def test_a_stripe_failure_during_consent_is_told_to_the_page_not_a_500(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-5")
    page = pay_page(asha, watched, payment)
    watched.expect(
        "POST",
        "/v1/customers",
        Answer(500, {"error": {"type": "api_error", "message": "Stripe is down"}}),
        times=None,
    )

    response = consent(asha, payment, page, save=True)

    assert response.status_code == 502
    assert "could not be reached" in response.get_json()["error"]


# -- the card saved when the payment succeeds ----------------------------------------------


def succeed(watched: WatchedStripe, payment: Payment, **intent: Any) -> tuple[str, int]:
    succeeded = intent_of(payment, status="succeeded", **intent)
    watched.expect(
        "GET", f"/v1/payment_intents/{payment.gateway_reference}", Answer(200, succeeded)
    )
    return deliver(recorded.event("payment_intent.succeeded", succeeded))


def test_the_card_is_saved_when_the_payment_it_paid_succeeds(
    stripe_app: Flask, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-6")
    keep_customer()
    watched.expect(
        "GET", "/v1/payment_methods/pm_new", Answer(200, card_method("pm_new", "cus_of_7"))
    )

    answer = succeed(
        watched,
        payment,
        setup_future_usage="off_session",
        customer="cus_of_7",
        payment_method="pm_new",
    )

    assert answer == ("ok", 200)
    assert payment_named(payment.public_id).status == "succeeded"
    [card] = saved_of()
    assert (card.payment_method, card.processor_customer, card.brand, card.last4) == (
        "pm_new",
        "cus_of_7",
        "visa",
        "4242",
    )
    assert (card.exp_month, card.exp_year) == (4, 2031)


def test_no_card_is_saved_without_consent(stripe_app: Flask, watched: WatchedStripe) -> None:
    payment = start(stripe_app, watched, "C-7")
    keep_customer()
    # Stripe would describe the card if asked: only the missing consent keeps it unsaved.
    watched.expect(
        "GET", "/v1/payment_methods/pm_new", Answer(200, card_method("pm_new", "cus_of_7"))
    )

    answer = succeed(watched, payment, customer="cus_of_7", payment_method="pm_new")

    assert answer == ("ok", 200)
    assert saved_of() == []
    assert watched.executed_to("GET", "/v1/payment_methods/pm_new") == []


def test_no_card_is_saved_for_a_stripe_customer_the_shop_did_not_make_for_the_shopper(
    stripe_app: Flask, watched: WatchedStripe, caplog: pytest.LogCaptureFixture
) -> None:
    payment = start(stripe_app, watched, "C-8")
    keep_customer()

    answer = succeed(
        watched,
        payment,
        setup_future_usage="off_session",
        customer="cus_someone",
        payment_method="pm_x",
    )

    assert answer == ("ok", 200)
    assert saved_of() == []
    assert "not saved" in caplog.text


def test_a_redelivered_success_does_not_ask_stripe_again(
    stripe_app: Flask, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-9")
    keep_customer()
    watched.expect(
        "GET", "/v1/payment_methods/pm_new", Answer(200, card_method("pm_new", "cus_of_7"))
    )
    succeeded = intent_of(
        payment,
        status="succeeded",
        setup_future_usage="off_session",
        customer="cus_of_7",
        payment_method="pm_new",
    )
    watched.expect(
        "GET",
        f"/v1/payment_intents/{payment.gateway_reference}",
        Answer(200, succeeded),
        times=None,
    )
    event = recorded.event("payment_intent.succeeded", succeeded)

    assert deliver(event) == ("ok", 200)
    assert deliver(event) == ("duplicate", 200)

    assert len(watched.executed_to("GET", f"/v1/payment_intents/{payment.gateway_reference}")) == 1
    assert len(saved_of()) == 1


def test_a_failing_follow_up_leaves_the_payment_recorded_and_answers_200(
    stripe_app: Flask, watched: WatchedStripe, caplog: pytest.LogCaptureFixture
) -> None:
    payment = start(stripe_app, watched, "C-10")
    keep_customer()
    succeeded = intent_of(payment, status="succeeded")
    watched.expect(
        "GET",
        f"/v1/payment_intents/{payment.gateway_reference}",
        Answer(500, {"error": {"type": "api_error", "message": "Stripe is down"}}),
        times=None,
    )

    with caplog.at_level(logging.ERROR):
        answer = deliver(recorded.event("payment_intent.succeeded", succeeded))

    assert answer == ("ok", 200)
    assert payment_named(payment.public_id).status == "succeeded"
    assert "follow-up" in caplog.text
    assert saved_of() == []


# -- one click -----------------------------------------------------------------------------


def test_the_card_page_leaves_out_an_expired_card(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    state = PartialPay.state()
    state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=ASHA.get_id(),
            gateway="stripe",
            processor_customer="cus_of_7",
            payment_method="pm_old",
            brand="visa",
            last4="0005",
            exp_month=1,
            exp_year=2020,
        )
    )
    keep_card(method_id="pm_new", last4="4242")
    payment = start(stripe_app, watched, "C-19")

    page = pay_page(asha, watched, payment)

    assert "Pay with Visa •••• 4242" in page
    assert "0005" not in page


def test_the_card_page_shows_a_button_per_saved_card(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    keep_card(method_id="pm_a", last4="4242")
    keep_card(method_id="pm_b", last4="1881")
    keep_card(RAVI, method_id="pm_ravi", last4="5556")
    payment = start(stripe_app, watched, "C-11")

    page = pay_page(asha, watched, payment)

    assert "Pay with Visa •••• 4242" in page and "Pay with Visa •••• 1881" in page
    assert "5556" not in page


def test_one_click_gives_the_intent_the_card_confirms_it_and_returns_to_the_shop(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    card = keep_card()
    payment = start(stripe_app, watched, "C-12")
    page = pay_page(asha, watched, payment)
    intent_path = f"/v1/payment_intents/{payment.gateway_reference}"
    watched.expect(
        "POST", f"{intent_path}/confirm", Answer(200, intent_of(payment, status="processing"))
    )
    watched.expect("POST", intent_path, Answer(200, intent_of(payment)))

    response = one_click(asha, payment, card, page)

    assert response.status_code == 302
    assert response.headers["Location"] == "/orders/C-12"
    [update] = watched.executed_to("POST", intent_path)
    assert update.params == {"payment_method": "pm_saved", "customer": "cus_of_7"}
    [confirm] = watched.executed_to("POST", f"{intent_path}/confirm")
    assert confirm.params == {"return_url": "http://localhost/orders/C-12"}
    assert confirm.idempotency_key == f"partialpay-confirm-{payment.public_id}-{_key_from(page)}"
    # The webhook, not the click, decides: the payment is still pending.
    assert payment_named(payment.public_id).status == "pending"


def test_a_declined_saved_card_sends_the_shopper_back_to_the_card_page(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    card = keep_card()
    payment = start(stripe_app, watched, "C-13")
    page = pay_page(asha, watched, payment)
    intent_path = f"/v1/payment_intents/{payment.gateway_reference}"
    watched.expect(
        "POST",
        f"{intent_path}/confirm",
        Answer(
            402,
            {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                    "payment_intent": intent_of(payment),
                }
            },
        ),
    )
    watched.expect("POST", intent_path, Answer(200, intent_of(payment)))

    response = one_click(asha, payment, card, page)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/partialpay/stripe/pay/{payment.public_id}"
    shown = pay_page(asha, watched, payment)
    assert "The card was declined. Pay with another card or another way." in shown


def test_a_bank_that_wants_the_cardholder_gets_a_link_to_its_page(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    card = keep_card()
    payment = start(stripe_app, watched, "C-14")
    page = pay_page(asha, watched, payment)
    intent_path = f"/v1/payment_intents/{payment.gateway_reference}"
    bank = "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_1"
    watched.expect(
        "POST",
        f"{intent_path}/confirm",
        Answer(
            200,
            intent_of(
                payment,
                status="requires_action",
                next_action={
                    "type": "redirect_to_url",
                    "redirect_to_url": {"url": bank, "return_url": "x"},
                },
            ),
        ),
    )
    watched.expect("POST", intent_path, Answer(200, intent_of(payment)))

    response = one_click(asha, payment, card, page)

    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert "Confirm the payment with your bank" in shown
    assert f'href="{bank}"' in shown


def test_one_click_needs_the_csrf_token_and_the_shoppers_own_card_and_payment(
    stripe_app: Flask, asha: Browser, ravi: Browser, watched: WatchedStripe
) -> None:
    card = keep_card()
    ravis_card = keep_card(RAVI, method_id="pm_ravi", last4="5556")
    payment = start(stripe_app, watched, "C-15")
    page = pay_page(asha, watched, payment)
    token = {"csrf_token": csrf_from(page), "idempotency_key": _key_from(page)}

    without_token = asha.post(
        one_click_url(payment, card), data={"idempotency_key": _key_from(page)}
    )
    others_card = asha.post(one_click_url(payment, ravis_card), data=token)
    others_payment = ravi.post(one_click_url(payment, ravis_card), data=token)

    assert (without_token.status_code, others_card.status_code, others_payment.status_code) == (
        400,
        404,
        404,
    )
    assert watched.executed_to("POST", f"/v1/payment_intents/{payment.gateway_reference}") == []


# -- removal -------------------------------------------------------------------------------


def test_removing_a_card_detaches_it_at_stripe(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    card = keep_card()
    page = html.unescape(asha.get(SAVED_CARDS).get_data(as_text=True))
    watched.expect(
        "POST",
        "/v1/payment_methods/pm_saved/detach",
        Answer(200, card_method("pm_saved", None)),  # type: ignore[arg-type]
    )

    response = asha.post(
        f"{SAVED_CARDS}/{card.public_id}/remove", data={"csrf_token": csrf_from(page)}
    )

    assert response.status_code == 302
    assert len(watched.executed_to("POST", "/v1/payment_methods/pm_saved/detach")) == 1
    assert saved_of() == []


def test_a_card_stripe_cannot_detach_is_removed_all_the_same(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe, caplog: pytest.LogCaptureFixture
) -> None:
    card = keep_card()
    page = html.unescape(asha.get(SAVED_CARDS).get_data(as_text=True))
    watched.expect(
        "POST",
        "/v1/payment_methods/pm_saved/detach",
        Answer(500, {"error": {"type": "api_error", "message": "Stripe is down"}}),
        times=None,
    )

    response = asha.post(
        f"{SAVED_CARDS}/{card.public_id}/remove",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "was removed from your saved cards" in html.unescape(response.get_data(as_text=True))
    assert saved_of() == []
    assert "did not forget payment method pm_saved" in caplog.text


def test_the_gateway_refuses_another_shoppers_card_before_asking_stripe(
    stripe_app: Flask, watched: WatchedStripe
) -> None:
    ravis_card = keep_card(RAVI, method_id="pm_ravi", last4="5556")
    payment = start(stripe_app, watched, "C-16")
    gateway = PartialPay.state().gateway("stripe")
    assert isinstance(gateway, StripeGateway)

    with pytest.raises(PaymentError):
        gateway.pay_with_saved_card(payment, ravis_card, return_url="/", attempt_key="k" * 20)

    assert watched.executed_to("POST", f"/v1/payment_intents/{payment.gateway_reference}") == []


def test_removing_a_card_needs_the_csrf_token_where_the_host_has_no_csrf_protection(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe
) -> None:
    assert "csrf" not in stripe_app.extensions  # no CSRFProtect: the page's own check
    card = keep_card()

    response = asha.post(f"{SAVED_CARDS}/{card.public_id}/remove", data={})

    assert response.status_code == 400
    assert len(saved_of()) == 1
    assert watched.executed == []


def test_a_shopper_who_never_agreed_to_save_a_card_costs_no_call_to_stripe(
    stripe_app: Flask, watched: WatchedStripe
) -> None:
    payment = start(stripe_app, watched, "C-17")
    succeeded = intent_of(payment, status="succeeded")
    sent_before = len(watched.sent)

    assert deliver(recorded.event("payment_intent.succeeded", succeeded)) == ("ok", 200)

    assert len(watched.sent) == sent_before
    assert payment_named(payment.public_id).status == "succeeded"


@pytest.mark.parametrize(
    "answer",
    [
        Answer(
            402,
            {
                "error": {
                    "type": "card_error",
                    "code": "authentication_required",
                    "decline_code": "authentication_required",
                    "message": "Your card was declined. This transaction requires authentication.",
                }
            },
        ),
        # A bank check Stripe can only show through Stripe.js, not send the shopper to.
        Answer(
            200,
            recorded.payment_intent(
                amount=2500,
                currency="usd",
                metadata={},
                status="requires_action",
                next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
            ),
        ),
    ],
    ids=["authentication_required", "use_stripe_sdk"],
)
def test_a_bank_check_the_shop_cannot_offer_asks_the_shopper_to_type_the_card(
    stripe_app: Flask, asha: Browser, watched: WatchedStripe, answer: Answer
) -> None:
    card = keep_card()
    payment = start(stripe_app, watched, "C-18")
    page = pay_page(asha, watched, payment)
    intent_path = f"/v1/payment_intents/{payment.gateway_reference}"
    watched.expect("POST", f"{intent_path}/confirm", answer)
    watched.expect("POST", intent_path, Answer(200, intent_of(payment)))

    response = one_click(asha, payment, card, page)

    assert response.headers["Location"] == f"/partialpay/stripe/pay/{payment.public_id}"
    shown = pay_page(asha, watched, payment)
    assert "The card's bank asks the cardholder to confirm this payment" in shown
    assert payment_named(payment.public_id).status == "pending"
