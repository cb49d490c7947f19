"""Instalment offers, as the seed tells them: the $5000 course, 1% minimum, 90% successful.

Driven over HTTP as the shopper and the admin meet them (the Buy link, the payment step,
the thank-you page, the Payments tab, Orders and Sales), with the ledger and the audit
checked underneath. The demo seed gives the course its policy: Allow Partial Payments,
1% ($50.00) minimum first payment, 90% ($4,500.00) to be considered successful.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import itsdangerous.timed
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from example_shop import partialpay
from example_shop.models import Product, User, db
from flask_partialpay import OrderNotFound, OrderNotPayable, OrderRecord, Payment
from flask_partialpay.audit import audit
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import Transfer
from tests.conftest import Shopper, csrf_from, form_value

USD = "USD"
SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
ADMIN_ORDERS = "/partialpay/admin/orders"


# -- helpers ------------------------------------------------------------------------------


def course_id() -> str:
    product = db.session.scalars(sa.select(Product).where(Product.sku == "course")).one()
    return str(product.id)


def user_id(email: str) -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == email)).one())


def link(app: Flask, allow_partial: bool = True, customer: str | None = None) -> str:
    with app.test_request_context():
        return partialpay.instalments.buy_link(
            course_id(), allow_partial=allow_partial, customer_id=customer
        )


def open_offer(person: Shopper, url: str) -> str:
    """Open a Buy link and continue to payment; the order's reference."""
    response = person.post_form(url, url, {})
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/orders/([^/]+)/pay$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def pay_step(reference: str) -> str:
    return f"/partialpay/orders/{reference}/pay"


def pay(
    person: Shopper,
    reference: str,
    amount: str | None,
    *,
    gateway: str = "sandbox_card",
    use_wallet: bool = False,
    key: str | None = None,
) -> Any:
    """Submit the payment step: "Make Payment Partial" with ``amount``, or all (None)."""
    page = person.get(pay_step(reference)).get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "idempotency_key": key or form_value(page, "idempotency_key"),
        "gateway": gateway,
    }
    if amount is not None:
        data.update(make_partial="y", amount=amount)
    if use_wallet:
        data["use_wallet"] = "y"
    return person.client.post(pay_step(reference), data=data)


def pay_by_card(person: Shopper, reference: str, amount: str | None, card: str = SUCCESS_CARD):
    response = pay(person, reference, amount)
    assert response.status_code == 302, response.get_data(as_text=True)
    card_url = response.headers["Location"]
    assert "/partialpay/card/" in card_url
    return person.pay_card(card_url, card)


def account(reference: str) -> OrderRecord:
    db.session.expire_all()
    found = partialpay.orders.find(reference)
    assert found is not None
    return found


def invoices(reference: str) -> list[Payment]:
    db.session.expire_all()
    return partialpay.orders.payments(reference)


def confirm(admin: Shopper, payment: Payment, *, reject: bool = False) -> Any:
    action = "reject" if reject else "confirm"
    return admin.post_form(
        "/partialpay/admin/payments",
        f"/partialpay/admin/payments/{payment.public_id}/{action}",
        {"reason": "No transfer arrived."} if reject else {},
    )


def assert_audit_clean() -> None:
    db.session.commit()
    assert audit(db.session) == []


@contextmanager
def captured(signal: Any) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    signal.connect(receive)
    try:
        yield seen
    finally:
        signal.disconnect(receive)


def set_policy(app: Flask, minimum: str, success: str | None) -> None:
    partialpay.instalments.set_policy(
        course_id(),
        allow_partial=True,
        minimum_percent=Decimal(minimum),
        success_percent=None if success is None else Decimal(success),
    )


# -- the offer's settings -------------------------------------------------------------------


def test_the_admin_sees_each_percentage_as_an_amount_of_the_price(
    app: Flask, admin: Shopper
) -> None:
    page = admin.get(f"/partialpay/admin/offers/{course_id()}").get_data(as_text=True)
    assert "Allow Partial Payments" in page
    assert "Percentage of Minimum Partial Payment" in page
    assert "Percentage for Payment to Be Considered Successful" in page
    assert "$50.00" in page  # 1% of $5,000
    assert "$4,500.00" in page  # 90% of $5,000
    url = f"/partialpay/admin/offers/{course_id()}"
    response = admin.post_form(
        url, url, {"allow_partial": "y", "minimum_percent": "2.5", "success_percent": "95"}
    )
    assert response.status_code == 302
    page = admin.get(url).get_data(as_text=True)
    assert "$125.00" in page and "$4,750.00" in page
    policy = partialpay.instalments.policy(course_id())
    assert (policy.minimum_percent, policy.success_percent) == (Decimal("2.5"), Decimal(95))


@pytest.mark.parametrize(
    ("minimum", "success", "field", "message"),
    [
        ("101", "90", "minimum_percent", "from 0 to 100"),
        ("-1", "90", "minimum_percent", "without the percent sign"),
        ("abc", "90", "minimum_percent", "without the percent sign"),
        ("1.234", "90", "minimum_percent", "without the percent sign"),
        ("NaN", "90", "minimum_percent", "without the percent sign"),
        ("100", "", "minimum_percent", "nothing is left to pay in parts"),
        ("1", "101", "success_percent", "from 0 to 100"),
        ("1", "0", "success_percent", "above 0"),
        ("10", "5", "success_percent", "below the minimum partial payment"),
    ],
)
def test_percentages_that_make_no_sense_are_refused_next_to_the_field(
    app: Flask, admin: Shopper, minimum: str, success: str, field: str, message: str
) -> None:
    url = f"/partialpay/admin/offers/{course_id()}"
    response = admin.post_form(
        url, url, {"allow_partial": "y", "minimum_percent": minimum, "success_percent": success}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    assert error and message in error.group(1), page
    policy = partialpay.instalments.policy(course_id())
    assert (policy.minimum_percent, policy.success_percent) == (Decimal(1), Decimal(90))


def test_the_minimum_is_rounded_up_never_undercut(app: Flask) -> None:
    policy = partialpay.instalments.policy(course_id())
    assert policy.minimum_amount(Decimal("5000"), USD) == Decimal("50.00")
    assert policy.success_amount(Decimal("5000"), USD) == Decimal("4500.00")
    # 1% of $10.05 is $0.1005: the first payment may not be $0.10.
    assert policy.minimum_amount(Decimal("10.05"), USD) == Decimal("0.11")
    assert policy.minimum_amount(Decimal("1005"), "JPY") == Decimal("11")


# -- where partial payment is offered -------------------------------------------------------


def test_a_buy_link_with_the_box_ticked_offers_make_payment_partial(
    app: Flask, shopper: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert "Make Payment Partial" in page
    assert "at least $50.00 and at most $5,000.00" in page
    assert account(reference).instalments


def test_the_direct_link_offers_no_partial_payment(app: Flask, shopper: Shopper) -> None:
    response = shopper.post_form(f"/offers/{course_id()}", f"/offers/{course_id()}/buy", {})
    assert response.status_code == 302
    reference = re.search(r"/orders/([^/]+)/pay$", response.headers["Location"]).group(1)
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert "Make Payment Partial" not in page
    # A part submitted anyway is refused and charges nothing.
    response = pay(shopper, reference, "50")
    assert response.status_code == 302  # pays in full: the typed part is ignored
    assert [p.amount for p in invoices(reference)] == [Decimal("5000.00")]


def test_a_buy_link_without_the_box_or_for_an_offer_without_the_setting_pays_in_full(
    app: Flask, shopper: Shopper
) -> None:
    reference = open_offer(shopper, link(app, allow_partial=False))
    assert "Make Payment Partial" not in shopper.get(pay_step(reference)).get_data(as_text=True)
    partialpay.instalments.set_policy(
        course_id(), allow_partial=False, minimum_percent=Decimal(0), success_percent=None
    )
    second = open_offer(shopper, link(app, allow_partial=True))
    assert not account(second).instalments


def test_a_tampered_or_forged_buy_link_is_refused(app: Flask, shopper: Shopper) -> None:
    url = link(app)
    token = url.rsplit("/", 1)[1]
    tampered = url[: -len(token)] + token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = shopper.get(tampered)
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    app.config["SECRET_KEY"] = "someone-else"
    forged = link(app)
    app.config["SECRET_KEY"] = "test-secret"
    assert shopper.get(forged).status_code == 400
    # Nothing was placed.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderRecord)) == 0


def test_an_expired_buy_link_is_refused(app: Flask, shopper: Shopper, monkeypatch: Any) -> None:
    url = link(app)
    app.config["PARTIALPAY_LINK_MAX_AGE"] = 60
    later = itsdangerous.timed.time.time() + 3600
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    response = shopper.get(url)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_a_buy_link_sent_to_asha_is_a_404_for_ravi(
    app: Flask, shopper: Shopper, other_shopper: Shopper
) -> None:
    url = link(app, customer=user_id("asha@example.com"))
    assert other_shopper.get(url).status_code == 404
    assert shopper.get(url).status_code == 200


# -- paying in parts -------------------------------------------------------------------------


def test_the_seeds_numbers(app: Flask, shopper: Shopper) -> None:
    reference = open_offer(shopper, link(app))
    refused = pay(shopper, reference, "49.99")
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert re.search(r'id="amount-error"[^>]*>Enter an amount from \$50\.00 to \$5,000\.00', page)
    assert invoices(reference) == []

    pay_by_card(shopper, reference, "50")
    assert account(reference).paid == Decimal("50.00")
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert "Complete Partial Payment" in thanks

    # Later payments: the minimum no longer applies.
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert "up to $4,950.00" in page
    pay_by_card(shopper, reference, "0.01")
    assert account(reference).paid == Decimal("50.01")
    assert "Complete Partial Payment" in shopper.get(
        f"/partialpay/orders/{reference}/thanks"
    ).get_data(as_text=True)

    too_much = pay(shopper, reference, "4950.00")
    assert too_much.status_code == 200
    assert "Enter an amount from $0.01 to $4,949.99" in too_much.get_data(as_text=True)
    assert len(invoices(reference)) == 2  # an invoice per payment, none for the refusals

    with captured(signals.order_completed) as completed:
        pay_by_card(shopper, reference, "4949.99")
    order = account(reference)
    assert (order.status, order.paid, order.due) == ("completed", Decimal("5000.00"), 0)
    assert [c["by"] for c in completed] == [None]
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert "Complete Partial Payment" not in thanks
    assert len(invoices(reference)) == 3
    assert_audit_clean()


def test_malformed_amounts_are_refused_by_the_strict_parser(app: Flask, shopper: Shopper) -> None:
    reference = open_offer(shopper, link(app))
    for typed in ("NaN", "1e3", "-50", "50.001", "5_0", "Infinity", ""):
        response = pay(shopper, reference, typed)
        assert response.status_code == 200, typed
        assert 'id="amount-error"' in response.get_data(as_text=True), typed
    assert invoices(reference) == []


def test_the_same_payment_submitted_twice_makes_one_invoice(app: Flask, shopper: Shopper) -> None:
    reference = open_offer(shopper, link(app))
    first = pay(shopper, reference, "100", key="k" * 32)
    second = pay(shopper, reference, "100", key="k" * 32)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(invoices(reference)) == 1


def test_a_declined_card_changes_nothing_and_the_payment_step_comes_back(
    app: Flask, shopper: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "50", card=DECLINED_CARD)
    assert account(reference).paid == 0
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert "unsuccessful" in thanks
    # The minimum still applies: nothing has counted yet.
    assert "at least $50.00" in shopper.get(pay_step(reference)).get_data(as_text=True)


# -- bank transfers confirmed by a manager -------------------------------------------------


def test_a_pending_transfer_leaves_the_amount_due_until_the_manager_confirms(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    response = pay(shopper, reference, "2000", gateway="manual")
    assert response.status_code == 302
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert "awaiting confirmation" in thanks
    assert re.search(r"Amount due</dt><dd[^>]*>\$5,000\.00", thanks)  # the full price still
    assert "Complete Partial Payment" in thanks
    # The transfer counts towards the first minimum: the next part may be small.
    assert "up to $5,000.00" in shopper.get(pay_step(reference)).get_data(as_text=True)

    transfer = invoices(reference)[0]
    with captured(signals.payment_confirmed) as confirmed:
        assert confirm(admin, transfer).status_code == 302
    assert [c["by"] for c in confirmed] == [user_id("admin@example.com")]
    assert account(reference).due == Decimal("3000.00")
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert re.search(r"Amount due</dt><dd[^>]*>\$3,000\.00", thanks)


def test_a_rejected_transfer_never_counts(app: Flask, shopper: Shopper, admin: Shopper) -> None:
    reference = open_offer(shopper, link(app))
    pay(shopper, reference, "2000", gateway="manual")
    with captured(signals.payment_rejected) as rejected:
        confirm(admin, invoices(reference)[0], reject=True)
    assert len(rejected) == 1
    order = account(reference)
    assert (order.paid, order.due, order.status) == (0, Decimal("5000.00"), "open")
    # Nothing counted: the first minimum applies again.
    assert "at least $50.00" in shopper.get(pay_step(reference)).get_data(as_text=True)


# -- completing and declining ---------------------------------------------------------------


def complete(admin: Shopper, reference: str) -> Any:
    url = f"{ADMIN_ORDERS}/{reference}"
    return admin.post_form(url, f"{url}/complete", {}, follow_redirects=True)


def test_manual_completion_is_refused_below_the_threshold_and_allowed_at_it(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "4499.99")
    page = complete(admin, reference).get_data(as_text=True)
    assert "have not reached $4,500.00" in page
    assert account(reference).status == "open"

    pay_by_card(shopper, reference, "0.01")
    with captured(signals.order_completed) as completed:
        page = complete(admin, reference).get_data(as_text=True)
    assert f"Order {reference} is Completed." in page
    order = account(reference)
    assert (order.status, order.paid, order.completed_by) == (
        "completed",
        Decimal("4500.00"),
        user_id("admin@example.com"),
    )
    assert [c["by"] for c in completed] == [user_id("admin@example.com")]
    # Completed: the payment step leads to the thank-you page, and nothing can be paid.
    response = shopper.get(pay_step(reference))
    assert response.headers["Location"].endswith(f"/orders/{reference}/thanks")
    with app.test_request_context():
        login_user(db.session.get(User, int(user_id("asha@example.com"))))
        with pytest.raises(OrderNotPayable):
            partialpay.instalments.pay(
                reference,
                gateway="sandbox_card",
                amount=Decimal("1"),
                return_url="/",
                idempotency_key="after-completion",
            )
    assert account(reference).paid == Decimal("4500.00")
    assert_audit_clean()


def test_an_order_without_a_success_percentage_cannot_be_completed_early(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    set_policy(app, "1", None)
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "4999.99")
    page = complete(admin, reference).get_data(as_text=True)
    assert "completed when it is paid in full" in page
    assert account(reference).status == "open"


def test_completion_waits_for_transfers_awaiting_confirmation(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "4500")
    pay(shopper, reference, "100", gateway="manual")
    page = complete(admin, reference).get_data(as_text=True)
    assert "Confirm or reject the bank transfers" in page
    assert account(reference).status == "open"


def test_a_declined_order_cannot_be_paid_and_its_payments_are_listed_for_refund(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "100")
    url = f"{ADMIN_ORDERS}/{reference}"
    with captured(signals.order_declined) as declined:
        page = admin.post_form(url, f"{url}/decline", {}, follow_redirects=True)
    assert len(declined) == 1
    html = page.get_data(as_text=True)
    todo = html[html.index("To do") :]
    assert "Confirmed Card (sandbox) payment: refund the customer" in todo
    assert "$100.00" in todo
    assert account(reference).status == "declined"

    step = shopper.get(pay_step(reference)).get_data(as_text=True)
    assert "Your payment was unsuccessful" in step
    response = pay(shopper, reference, "50", key="d" * 32)
    assert response.status_code == 200
    assert "Your payment was unsuccessful" in response.get_data(as_text=True)
    assert len(invoices(reference)) == 1  # nothing new was charged


# -- overpayment -----------------------------------------------------------------------------


def wallet_balance(email: str) -> Decimal:
    db.session.expire_all()
    return partialpay.state().wallets.balance(user_id(email), USD)


def test_two_confirmed_transfers_beyond_the_total_credit_the_excess_to_the_wallet_once(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay(shopper, reference, "3000", gateway="manual")
    pay(shopper, reference, "3000", gateway="manual")
    first, second = invoices(reference)
    confirm(admin, first)
    with captured(signals.overpayment_credited) as credited:
        confirm(admin, second)
        confirm(admin, second)  # a second click changes nothing
    order = account(reference)
    assert (order.status, order.paid, order.overpaid) == (
        "completed",
        Decimal("6000.00"),
        Decimal("1000.00"),
    )
    assert [c["amount"] for c in credited] == [Decimal("1000.00")]
    assert wallet_balance("asha@example.com") == Decimal("1000.00")
    credits = db.session.scalars(
        sa.select(Transfer).where(Transfer.reason == "overpayment", Transfer.reference == reference)
    ).all()
    assert [t.amount for t in credits] == [Decimal("1000.00")]
    statement = shopper.get("/partialpay/wallet").get_data(as_text=True)
    assert f"Overpayment of order #{reference}" in statement
    assert_audit_clean()


def test_overpayment_may_be_recorded_for_refund_instead(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    app.config["PARTIALPAY_OVERPAYMENT"] = "refund"
    reference = open_offer(shopper, link(app))
    pay(shopper, reference, "3000", gateway="manual")
    pay(shopper, reference, "3000", gateway="manual")
    first, second = invoices(reference)
    confirm(admin, first)
    with captured(signals.refund_owed) as owed:
        confirm(admin, second)
    assert [o["amount"] for o in owed] == [Decimal("1000.00")]
    assert wallet_balance("asha@example.com") == 0
    assert account(reference).overpaid == Decimal("1000.00")
    assert_audit_clean()


# -- the wallet pays an instalment --------------------------------------------------------


def credit_wallet(amount: str) -> None:
    partialpay.state().wallets.credit(
        user_id("asha@example.com"), amount, USD, reason="adjustment", memo="Test credit"
    )


def test_an_instalment_paid_half_from_the_wallet_and_half_by_card(
    app: Flask, shopper: Shopper
) -> None:
    credit_wallet("1000")
    reference = open_offer(shopper, link(app))
    response = pay(shopper, reference, "2000", use_wallet=True)
    assert response.status_code == 302
    part, card = sorted(invoices(reference), key=lambda p: p.gateway != "wallet")
    assert (part.gateway, part.amount, part.status) == ("wallet", Decimal("1000.00"), "pending")
    assert (card.gateway, card.amount) == ("sandbox_card", Decimal("1000.00"))
    assert wallet_balance("asha@example.com") == 0  # held for the card
    assert account(reference).due == Decimal("4000.00")

    shopper.pay_card(response.headers["Location"], SUCCESS_CARD)
    order = account(reference)
    assert (order.paid, order.due, order.reserved) == (Decimal("2000.00"), Decimal("3000.00"), 0)
    assert {p.status for p in invoices(reference)} == {"succeeded"}
    statement = shopper.get("/partialpay/wallet").get_data(as_text=True)
    assert f"For order payment #{reference} (Partial)" in statement
    assert_audit_clean()


def test_a_declined_card_gives_the_wallet_part_back(app: Flask, shopper: Shopper) -> None:
    credit_wallet("1000")
    reference = open_offer(shopper, link(app))
    response = pay(shopper, reference, "2000", use_wallet=True)
    shopper.pay_card(response.headers["Location"], DECLINED_CARD)
    order = account(reference)
    assert (order.paid, order.reserved, order.due) == (0, 0, Decimal("5000.00"))
    assert wallet_balance("asha@example.com") == Decimal("1000.00")
    assert_audit_clean()


def test_the_wallet_may_pay_a_whole_instalment(app: Flask, shopper: Shopper) -> None:
    credit_wallet("1000")
    reference = open_offer(shopper, link(app))
    response = pay(shopper, reference, "600", use_wallet=True)
    assert response.status_code == 302
    (payment,) = invoices(reference)
    assert (payment.gateway, payment.status, payment.amount) == (
        "wallet",
        "succeeded",
        Decimal("600.00"),
    )
    assert wallet_balance("asha@example.com") == Decimal("400.00")
    assert account(reference).due == Decimal("4400.00")
    assert_audit_clean()


def test_an_instalment_takes_nothing_from_a_wallet_in_a_currency_not_kept(
    app: Flask, shopper: Shopper
) -> None:
    credit_wallet("1000")
    app.config["PARTIALPAY_WALLET_CURRENCIES"] = ("INR",)
    reference = open_offer(shopper, link(app))
    response = pay(shopper, reference, "2000", use_wallet=True)
    assert response.status_code == 302
    # A host calling the API directly gets the same: the rule is the wallet's, not the page's.
    with app.test_request_context():
        login_user(db.session.get(User, int(user_id("asha@example.com"))))
        partialpay.instalments.pay(
            reference,
            gateway="sandbox_card",
            amount=Decimal("500"),
            return_url="/",
            idempotency_key="wallet-not-kept",
            use_wallet=True,
        )
    assert sorted((p.gateway, p.amount) for p in invoices(reference)) == [
        ("sandbox_card", Decimal("500.00")),
        ("sandbox_card", Decimal("2000.00")),
    ]
    assert wallet_balance("asha@example.com") == Decimal("1000.00")
    assert_audit_clean()


def test_a_wallet_part_with_a_bank_transfer_is_refused(app: Flask, shopper: Shopper) -> None:
    credit_wallet("100")
    reference = open_offer(shopper, link(app))
    response = pay(shopper, reference, "500", gateway="manual", use_wallet=True)
    assert response.status_code == 200
    assert "only with a card" in response.get_data(as_text=True)
    assert invoices(reference) == []
    assert wallet_balance("asha@example.com") == Decimal("100.00")


# -- the lost link and who may see what -------------------------------------------------------


def complete_link(app: Flask, customer: str, **where: str) -> str:
    with app.test_request_context():
        return partialpay.instalments.complete_payment_link(customer, **where)


def test_the_complete_payment_link_leads_only_its_customer_to_their_order(
    app: Flask, shopper: Shopper, other_shopper: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "50")
    asha = user_id("asha@example.com")
    for url in (
        complete_link(app, asha, order=reference),
        complete_link(app, asha, offer_name="Online business course"),
    ):
        response = shopper.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].endswith(pay_step(reference))
        page = shopper.get(pay_step(reference)).get_data(as_text=True)
        assert "up to $4,950.00" in page
        assert other_shopper.get(url).status_code == 404
    # A link made for Ravi to Asha's order cannot be made: it is not his order.
    with pytest.raises(OrderNotFound):
        complete_link(app, user_id("ravi@example.com"), order=reference)


def test_another_shopper_gets_404_on_your_order_pages(
    app: Flask, shopper: Shopper, other_shopper: Shopper
) -> None:
    reference = open_offer(shopper, link(app))
    pay_by_card(shopper, reference, "50")
    for url in (pay_step(reference), f"/partialpay/orders/{reference}/thanks"):
        assert other_shopper.get(url).status_code == 404
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    response = other_shopper.client.post(
        pay_step(reference),
        data={
            "csrf_token": csrf_from(page),
            "gateway": "sandbox_card",
            "idempotency_key": "x" * 32,
        },
    )
    assert response.status_code in (400, 404)
    assert len(invoices(reference)) == 1


def test_admin_pages_are_a_403_to_shoppers(app: Flask, shopper: Shopper) -> None:
    reference = open_offer(shopper, link(app))
    for url in (
        ADMIN_ORDERS,
        f"{ADMIN_ORDERS}/{reference}",
        "/partialpay/admin/offers",
        f"/partialpay/admin/offers/{course_id()}",
    ):
        assert shopper.get(url).status_code == 403, url
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    token = csrf_from(page)
    for url in (f"{ADMIN_ORDERS}/{reference}/complete", f"{ADMIN_ORDERS}/{reference}/decline"):
        assert shopper.client.post(url, data={"csrf_token": token}).status_code == 403


def test_every_post_needs_its_csrf_token(app: Flask, shopper: Shopper, admin: Shopper) -> None:
    url = link(app)
    assert shopper.client.post(url, data={}).status_code == 400
    reference = open_offer(shopper, url)
    page = shopper.get(pay_step(reference)).get_data(as_text=True)
    response = shopper.client.post(
        pay_step(reference),
        data={"gateway": "sandbox_card", "idempotency_key": form_value(page, "idempotency_key")},
    )
    assert response.status_code == 400
    for target in (
        f"{ADMIN_ORDERS}/{reference}/complete",
        f"{ADMIN_ORDERS}/{reference}/decline",
        f"/partialpay/admin/offers/{course_id()}",
    ):
        assert admin.client.post(target, data={"minimum_percent": "5"}).status_code == 400
    assert invoices(reference) == []
    assert account(reference).status == "open"
    assert partialpay.instalments.policy(course_id()).minimum_percent == Decimal(1)


# -- Orders and Sales -----------------------------------------------------------------------


def test_orders_and_sales_filters_partial_payments_and_shows_every_invoice(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    partial = open_offer(shopper, link(app))
    pay_by_card(shopper, partial, "50")
    pay(shopper, partial, "100", gateway="manual")
    confirm(admin, invoices(partial)[1])
    shopper.add_to_cart("notebook")
    shopper.checkout("manual")
    everything = admin.get(ADMIN_ORDERS).get_data(as_text=True)
    filtered = admin.get(f"{ADMIN_ORDERS}?partial=y").get_data(as_text=True)
    assert "Partial payments" in everything and "Filter" in everything
    assert partial in filtered and "Linen notebook" not in filtered
    assert filtered.count("<tr>") < everything.count("<tr>")

    page = admin.get(f"{ADMIN_ORDERS}/{partial}").get_data(as_text=True)
    assert f"{partial}-1" in page and f"{partial}-2" in page
    assert "$50.00" in page and "$100.00" in page
    assert "Card (sandbox)" in page and "Bank transfer" in page
    assert "Shop Admin" in page  # who confirmed the transfer


# -- the walk-through of docs/instalments.md -------------------------------------------------


def test_the_documented_walk_through_from_the_buy_button_to_completed(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    """The $5000 walk-through's steps 1 to 7, as the admin and Asha click through them."""
    # 1. The admin sees the offer's settings and their amounts.
    settings = admin.get(f"/partialpay/admin/offers/{course_id()}").get_data(as_text=True)
    assert "$50.00" in settings and "$4,500.00" in settings
    # 2. The admin sends Asha a Buy button with "Allow Partial Payments" ticked.
    sent = admin.post_form(
        "/admin/messages/new",
        "/admin/messages/new",
        {
            "recipient": user_id("asha@example.com"),
            "body": "Your course, in parts if you like.",
            "button": "buy",
            "offer": course_id(),
            "allow_partial": "y",
        },
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    # 3. Asha opens it from her inbox: the newest message's Buy button.
    inbox = shopper.get("/inbox").get_data(as_text=True)
    buy_url = re.search(r'href="(/partialpay/buy/[^"]+)"', inbox).group(1)
    assert "first payment is at least $50.00" in shopper.get(buy_url).get_data(as_text=True)
    reference = open_offer(shopper, buy_url)
    # 4. $49.99 is refused; $50 by card is paid.
    refused = pay(shopper, reference, "49.99").get_data(as_text=True)
    assert "Enter an amount from $50.00 to $5,000.00." in refused
    pay_by_card(shopper, reference, "50")
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert re.search(r"Amount due</dt><dd[^>]*>\$4,950\.00", thanks)
    assert "Complete Partial Payment" in thanks and "Open" in thanks
    # 5. A bank transfer of $2,000: the amount due is unchanged until it is confirmed.
    assert pay(shopper, reference, "2000", gateway="manual").status_code == 302
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert re.search(r"Amount due</dt><dd[^>]*>\$4,950\.00", thanks)
    assert "awaiting confirmation" in thanks
    # 6. The manager confirms it in the Payments tab.
    tab = admin.get("/partialpay/admin/payments").get_data(as_text=True)
    transfer = next(p for p in invoices(reference) if p.gateway == "manual")
    assert f"/partialpay/admin/payments/{transfer.public_id}/confirm" in tab
    confirm(admin, transfer)
    assert account(reference).due == Decimal("2950.00")
    assert "have not reached $4,500.00" in complete(admin, reference).get_data(as_text=True)
    # 7. The rest by card, with "Make Payment Partial" left unticked: Completed.
    pay_by_card(shopper, reference, None)
    assert account(reference).status == "completed"
    thanks = shopper.get(f"/partialpay/orders/{reference}/thanks").get_data(as_text=True)
    assert "Complete Partial Payment" not in thanks and "Completed" in thanks
    assert "Completed" in shopper.get("/orders").get_data(as_text=True)
    listing = admin.get(f"{ADMIN_ORDERS}?partial=y").get_data(as_text=True)
    assert reference in listing and "Completed" in listing
    assert_audit_clean()
