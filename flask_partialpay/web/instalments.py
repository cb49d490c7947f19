"""The shopper's side of instalment offers: Buy and Complete Payment links, the payment
step ("Make Payment Partial"), the thank-you page ("Complete Partial Payment") and "My
payments" (orders paid in instalments, with their schedules)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import (
    LinkError,
    OrderDeclined,
    OrderNotFound,
    OrderNotPayable,
    PartialPayError,
)
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.instalments.links import read_buy, read_complete
from flask_partialpay.instalments.offers import OfferInfo
from flask_partialpay.instalments.plan_orders import OrderPlan
from flask_partialpay.instalments.policy import Policy
from flask_partialpay.payments.due import awaits_manager
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.plan_range import PaymentRange
from flask_partialpay.plans.preview import preview_amounts
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import login_required_here
from flask_partialpay.web.automatic_payments import own_plan_order_or_404, render_my_payment
from flask_partialpay.web.forms.common import CsrfForm
from flask_partialpay.web.forms.instalments import InstalmentPaymentForm
from flask_partialpay.web.paging import requested_cursor

# Orders per page of "My payments": each shows its schedule, so a page is kept short.
MY_PAYMENTS_PAGE_SIZE = 10


def _own_order_or_404(reference: str) -> OrderRecord:
    """The current customer's order; anyone else's (or none) is a 404, the same page."""
    customer_id = login_required_here()
    account = current_partialpay.orders.find(reference)
    if account is None or account.customer_id != customer_id:
        abort(404)
    return account


def buy(token: str) -> str | Response:
    """A Buy button's link: the offer, then (POST) its order and payment step."""
    customer_id = login_required_here()
    try:
        link = read_buy(token)
    except LinkError as error:
        return _link_refused(error)
    if link.customer_id is not None and link.customer_id != customer_id:
        # A valid signature is not authorisation: it was sent to someone else.
        return _link_for_another_account()
    instalments = current_partialpay.instalments
    offer = instalments.offer(link.offer_id)
    if offer is None:
        abort(404)
    policy = instalments.policy(offer.offer_id)
    form = CsrfForm()
    if form.validate_on_submit():
        try:
            return redirect(
                instalments.open_offer(offer.offer_id, allow_partial=link.allow_partial)
            )
        except OrderNotFound:
            abort(404)
    return render_template(
        "partialpay/offer.html",
        offer=offer,
        in_parts=link.allow_partial and policy.allow_partial,
        minimum=policy.minimum_amount(offer.price, offer.currency),
        plan_amounts=_plan_amounts(policy, offer),
        form=form,
    )


def _plan_amounts(policy: Policy, offer: OfferInfo) -> tuple[Decimal, ...]:
    """The amounts of the offer's schedule for its price, when it is paid on one that fits
    an order placed today (one that no longer fits is placed in the free mode)."""
    if policy.plan is None:
        return ()
    preview = preview_amounts(
        policy.plan, offer.price, offer.currency, today=current_partialpay.today()
    )
    return () if preview.problems else preview.amounts


def complete_payment(token: str) -> str | Response:
    """A "Complete Payment" button: only the customer it was made for reaches their order."""
    customer_id = login_required_here()
    try:
        link = read_complete(token)
    except LinkError as error:
        return _link_refused(error)
    if link.customer_id != customer_id:
        return _link_for_another_account()
    account = _own_order_or_404(link.reference)
    return redirect(url_for("partialpay.pay_step", reference=account.reference))


def _link_for_another_account() -> Response:
    """Someone else's link: a 404 still (nothing about the order or offer is told), but a
    page saying whose it is and what to do, in the shop's layout."""
    page = render_template("partialpay/link_other_account.html")
    return Response(page, status=404, mimetype="text/html")


def _link_refused(error: LinkError) -> Response:
    """A tampered, forged or expired link: said plainly, and nothing happens."""
    page = render_template("partialpay/link_error.html", message=translate_error(error))
    return Response(page, status=400, mimetype="text/html")


def _gateway_choices() -> list[tuple[str, str]]:
    """The configured methods; the wallet is the "Use my wallet balance" box instead."""
    return [(g.name, g.label()) for g in current_partialpay.gateways.values()]


def pay_step(reference: str) -> str | Response:
    """Pay all that is due, or (an instalment order) a part of it."""
    account = _own_order_or_404(reference)
    state = current_partialpay
    instalments = state.instalments
    if account.status == OrderStatus.COMPLETED:
        return redirect(url_for("partialpay.thank_you", reference=reference))
    allowed = instalments.payment_range(account)
    wallet_balance = _wallet_balance(account)
    form = InstalmentPaymentForm(
        allowed=allowed, currency=account.currency, gateways=_gateway_choices()
    )
    payable = account.status == OrderStatus.OPEN and allowed.maximum > 0
    plan = instalments.order_plan(account)
    if request.method != "POST" and payable:
        _suggest_amount(form, plan, allowed)
    if request.method == "POST":
        if not payable:
            flash(_not_payable_message(account), "error")
        elif form.validate_on_submit():
            try:
                started = instalments.pay(
                    reference,
                    gateway=str(form.gateway.data),
                    amount=form.chosen_amount(),
                    use_wallet=bool(form.use_wallet.data) and wallet_balance > 0,
                    return_url=url_for("partialpay.thank_you", reference=reference),
                    idempotency_key=str(form.idempotency_key.data),
                )
            except PartialPayError as error:
                # Nothing was charged: the whole payment was refused in one transaction.
                form.amount.errors = [*form.amount.errors, translate_error(error)]
            else:
                return redirect(started.redirect_url)
    return render_template(
        "partialpay/pay_step.html",
        order=account,
        allowed=allowed,
        form=form,
        payable=payable,
        unsuccessful=_not_payable_message(account) if account.status != OrderStatus.OPEN else None,
        wallet_balance=wallet_balance,
        awaiting=_awaiting_confirmation(account),
        button_amount=form.button_amount(),
        plan=plan,
    )


def _suggest_amount(
    form: InstalmentPaymentForm, plan: OrderPlan | None, allowed: PaymentRange
) -> None:
    """On a schedule, start the form at what is due now (or the next instalment): "Make
    Payment Partial" ticked with that amount, which the shopper may change within the range.

    Within the range the order allows now, which also counts payments under way.
    """
    if plan is None or plan.allowed is None or not allowed.partial:
        return
    suggested = plan.money(plan.allowed.suggested_minor)
    form.make_partial.data = True
    form.amount.data = str(min(max(suggested, allowed.minimum), allowed.maximum))


def _not_payable_message(account: OrderRecord) -> str:
    if account.status == OrderStatus.DECLINED:
        return translate_error(OrderDeclined())
    if account.status == OrderStatus.OPEN:
        return gettext("Payments already under way cover what is due.")
    return translate_error(OrderNotPayable())


def _wallet_balance(account: OrderRecord) -> Decimal:
    """What the customer's wallet could pay now (nothing when locked or not kept)."""
    return current_partialpay.wallets.spendable(account.customer_id, account.currency)


def _awaiting_confirmation(account: OrderRecord) -> list[Payment]:
    """Bank transfers the shopper made that a manager has not confirmed yet."""
    state = current_partialpay
    return [p for p in state.orders.payments(account.reference) if awaits_manager(state.gateway, p)]


def thank_you(reference: str) -> str:
    """After each payment: what happened to the money, what is still due, and the way on.

    Invoices are confirmed payments only; attempts that did not count (cancelled, declined,
    rejected) or are not confirmed yet are listed apart, each with why, in words.
    """
    account = _own_order_or_404(reference)
    state = current_partialpay
    payments = state.orders.payments(reference)
    latest = next((p for p in reversed(payments) if p.part_of_id is None), None)
    awaiting = [p for p in payments if awaits_manager(state.gateway, p)]
    gateways = state.gateway_registry.by_name()
    return render_template(
        "partialpay/thank_you.html",
        order=account,
        outcome=_outcome(account, latest, gateways),
        outcomes=ThankYouOutcome,
        invoices=[p for p in payments if p.status == PaymentStatus.SUCCEEDED],
        attempts=[p for p in payments if p.status != PaymentStatus.SUCCEEDED],
        latest=latest,
        awaiting=awaiting,
        # The payment step's own rule: never offer a payment it would refuse.
        can_continue=account.status == OrderStatus.OPEN
        and state.instalments.payment_range(account).maximum > 0,
        gateways=gateways,
        plan=state.instalments.order_plan(account),
    )


def my_payments() -> str:
    """ "My payments": the shopper's orders paid in instalments, newest first, each with
    what is paid and left, the next payment and its date, and each instalment's status."""
    customer_id = login_required_here()
    instalments = current_partialpay.instalments
    cursor = requested_cursor()
    page = instalments.customer_orders(
        customer_id,
        before=cursor.before,
        after=cursor.after,
        per_page=MY_PAYMENTS_PAGE_SIZE,
    )
    return render_template(
        "partialpay/my_payments.html",
        orders=page.items,
        plans=instalments.order_plans(page.items),
        page=page,
        single=False,
    )


def my_payment(reference: str) -> str:
    """One of the shopper's orders on "My payments" (anyone else's is a 404)."""
    return render_my_payment(own_plan_order_or_404(reference))


class ThankYouOutcome(StrEnum):
    """What the thank-you page says happened to the shopper's money, one word each.

    The template compares ``outcome`` with these members (``outcomes.DECLINED``), never
    with the bare words, and turns each into a heading and a sentence.
    """

    DECLINED = "declined"
    PAID = "paid"
    COMPLETED_BY_SHOP = "completed_by_shop"
    CLOSED = "closed"
    NOTHING_YET = "nothing_yet"
    RECEIVED = "received"
    AWAITING = "awaiting"
    UNDER_WAY = "under_way"
    REJECTED = "rejected"
    NOT_CHARGED = "not_charged"


def _outcome(
    account: OrderRecord, latest: Payment | None, gateways: Mapping[str, Gateway]
) -> ThankYouOutcome:
    """What the thank-you page says happened, one word the template turns into a sentence.

    The order's state speaks first (declined, paid, completed by the shop with something
    left); otherwise the latest payment's: received, awaiting the shop's confirmation,
    under way, or not charged.
    """
    if account.status == OrderStatus.DECLINED:
        return ThankYouOutcome.DECLINED
    if account.status == OrderStatus.COMPLETED:
        if account.completed_by and account.due > 0:
            return ThankYouOutcome.COMPLETED_BY_SHOP
        return ThankYouOutcome.PAID
    if account.status != OrderStatus.OPEN:
        return ThankYouOutcome.CLOSED
    if latest is None:
        return ThankYouOutcome.NOTHING_YET
    if latest.status == PaymentStatus.SUCCEEDED:
        return ThankYouOutcome.RECEIVED
    if latest.status == PaymentStatus.PENDING:
        chosen = gateways.get(latest.gateway)
        if chosen is not None and chosen.confirmed_by_manager:
            return ThankYouOutcome.AWAITING
        return ThankYouOutcome.UNDER_WAY
    if latest.status == PaymentStatus.REJECTED:
        return ThankYouOutcome.REJECTED
    return ThankYouOutcome.NOT_CHARGED


def add_routes(blueprint: Blueprint) -> None:
    """Buy links, the payment step and the thank-you page, on the shopper blueprint."""
    blueprint.route("/buy/<token>", methods=["GET", "POST"])(buy)
    blueprint.get("/complete/<token>")(complete_payment)
    blueprint.route("/orders/<reference>/pay", methods=["GET", "POST"])(pay_step)
    blueprint.get("/orders/<reference>/thanks")(thank_you)
    blueprint.get("/my-payments")(my_payments)
    blueprint.get("/my-payments/<reference>")(my_payment)
