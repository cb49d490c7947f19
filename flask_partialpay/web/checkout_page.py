"""The host's checkout in two calls: the page's parts, and placing the order it shows.

:func:`checkout_page` (``partialpay.checkout_page``) is called by the view that shows the
cart: it returns the totals lines to show (the shop's own, then "Via wallet" and "New
total to pay" when the wallet applies), the "Use wallet balance" choice, the payment
methods and a fresh checkout key, all rendered inside the host's checkout form by
``{{ partialpay_checkout(page) }}``. :func:`submit_checkout`
(``partialpay.submit_checkout``) is called by the view the form posts to: it applies a
wallet choice, or holds the wallet part, has the host write its order, opens its record
and starts paying the rest, and says where to send the shopper.

The same form submitted twice places one order and pays once: the key the page made is
the order's (:class:`~flask_partialpay.OrderMixin`'s ``partialpay_checkout_key``), the
wallet hold's and the payment's. Nothing is charged while the database holds a lock: the
processor is asked after the order's transaction committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from flask import flash, render_template, render_template_string, request, url_for
from markupsafe import Markup

from flask_partialpay.core.errors import (
    ConfigurationError,
    InvalidAmount,
    PartialPayError,
    WalletBalanceChanged,
)
from flask_partialpay.core.money import from_minor, parse_amount
from flask_partialpay.core.vocabulary import WALLET_GATEWAY, OrderStatus
from flask_partialpay.host.i18n import format_money, gettext, translate_error
from flask_partialpay.host.redirects import safe_local_path
from flask_partialpay.mixins import OrderMixin, place_for_checkout
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.state import current_partialpay
from flask_partialpay.wallet.checkout import CartSummary
from flask_partialpay.web.forms.checkout import CheckoutForm
from flask_partialpay.web.forms.wallet_choice import WalletChoiceView, wallet_choice


class TotalLine(NamedTuple):
    """One line of the cart's totals: ``for label, amount in page.lines`` in a template."""

    label: str
    amount: Decimal


@dataclass(frozen=True)
class CheckoutPage:
    """What the checkout page shows: pass it to ``{{ partialpay_checkout(page) }}``."""

    cart: CartSummary
    #: The shop's lines, then "Via wallet" (negative) and "New total to pay" when the
    #: wallet applies.
    lines: list[TotalLine]
    #: What is left to pay by the payment method chosen.
    to_pay: Decimal
    #: The "Use wallet balance" choice (``partialpay/_wallet_choice.html``).
    wallet: WalletChoiceView
    #: The payment methods offered, the Wallet first when the balance covers the cart.
    gateways: list[Gateway]
    form: CheckoutForm


@dataclass(frozen=True)
class SubmittedCheckout:
    """Where to send the shopper, and the host's order if this checkout placed one.

    ``order`` is None when nothing was placed: a wallet choice was applied, or something
    was refused (a flashed message says what) and ``url`` is the checkout page again.
    """

    url: str
    order: Any | None = None

    @property
    def placed(self) -> bool:
        return self.order is not None


def checkout_page(cart: CartSummary, lines: Iterable[tuple[str, Decimal]]) -> CheckoutPage:
    """The checkout page's parts for ``cart``, whose totals the shop shows as ``lines``."""
    wallet = wallet_choice(cart, None)
    applied = wallet.offer.applied
    shown = [TotalLine(label, amount) for label, amount in lines]
    if applied > 0:
        shown += [TotalLine(fee.label, fee.amount) for fee in wallet.offer.fee_lines()]
        shown.append(TotalLine(gettext("New total to pay"), cart.total - applied))
    gateways = current_partialpay.checkout.available_gateways(cart)
    form = CheckoutForm(formdata=None, gateways=[(g.name, g.label()) for g in gateways])
    form.gateway.data = gateways[0].name if gateways else None
    form.wallet_part.data = str(applied) if applied > 0 else ""
    form.back.data = request.path
    return CheckoutPage(
        cart=cart,
        lines=shown,
        to_pay=cart.total - applied,
        wallet=wallet,
        gateways=gateways,
        form=form,
    )


def submit_checkout(
    cart: CartSummary,
    create_order: Callable[[], Any],
    *,
    return_url: Callable[[Any], str] | None = None,
    back: str | None = None,
) -> SubmittedCheckout:
    """Place the order the checkout form showed and start paying it; where to go next.

    ``create_order()`` writes the host's order for ``cart`` (an instance of the app's
    ``order_model``: added, and flushed or not, never committed) and returns it. It runs
    inside the extension's transaction, after the wallet part is held, and is run again if
    the database asks for a retry: read the cart inside it, and empty the cart after this
    returns, when ``placed``. ``return_url(order)`` is where the shopper comes back after
    paying (default: the extension's thank-you page for the order); ``back`` is where a
    refusal sends them (default: the page the form was on).
    """
    state = current_partialpay
    order_model = state.order_model
    if order_model is None:
        raise ConfigurationError(
            "submit_checkout places the host's order: init_app(app, db, order_model=Order), "
            "with Order a model using OrderMixin."
        )
    gateways = state.checkout.available_gateways(cart)
    form = CheckoutForm(gateways=[(g.name, g.label()) for g in gateways])
    back = back or safe_local_path(form.back.data) or "/"
    if not form.validate_on_submit():
        for message in [m for errors in form.errors.values() for m in errors]:
            flash(str(message), "error")
        return SubmittedCheckout(back)
    key = str(form.idempotency_key.data)
    session = state.session
    order = order_model.partialpay_find_checkout(session, key)
    gateway = str(form.gateway.data or "")
    if order is None:
        refusal = _refusal(cart, form, gateway, {g.name for g in gateways})
        if refusal is not None:
            if refusal:
                flash(refusal, "error")
            return SubmittedCheckout(back)
        expected = None if gateway == WALLET_GATEWAY else _shown_wallet_part(form, cart)
        try:
            account = state.checkout.place(
                cart,
                checkout_key=key,
                expected=expected,
                find=lambda: _info(order_model.partialpay_find_checkout(session, key)),
                create=lambda: place_for_checkout(
                    session, order_model, create_order, key
                ).partialpay_info(),
            )
        except PartialPayError as error:
            flash(translate_error(error), "error")
            return SubmittedCheckout(back)
        order = order_model.partialpay_find(session, account.reference)
        assert order is not None
    reference = order.partialpay_reference
    target = (
        return_url(order) if return_url else url_for("partialpay.thank_you", reference=reference)
    )
    record = state.orders.find(reference)
    if record is None or record.status == OrderStatus.COMPLETED:
        return SubmittedCheckout(target, order)  # the wallet paid it all
    try:
        started = state.orders.pay(
            reference, gateway=gateway, return_url=target, idempotency_key=f"pay:{key}"
        )
    except PartialPayError as error:
        flash(translate_error(error), "error")
        return SubmittedCheckout(target, order)
    return SubmittedCheckout(started.redirect_url, order)


def _info(order: OrderMixin | None) -> Any:
    return None if order is None else order.partialpay_info()


def _refusal(cart: CartSummary, form: CheckoutForm, gateway: str, offered: set[str]) -> str | None:
    """Why nothing may be placed yet ("" when the page itself says it), or None: place it.

    The "Use wallet balance" choice is part of the checkout form: "Apply" saves it, and
    "Place order" with a choice that changes the total shows the new total first, so the
    shopper is never charged an amount the page did not show.
    """
    if cart.total <= 0:
        return gettext("Your cart is empty.")
    wallet = wallet_choice(cart, request.form)
    if wallet.form.errors:
        return " ".join(str(m) for errors in wallet.form.errors.values() for m in errors)
    if wallet.form.apply.name in request.form:
        return ""  # "Apply": the choice is saved, the page shows it
    try:
        shown = _shown_wallet_part(form, cart)
    except InvalidAmount:
        return translate_error(WalletBalanceChanged())  # a hidden field was changed
    if gateway != WALLET_GATEWAY and wallet.offer.applied != shown:
        return gettext(
            "Your wallet choice is applied: the total to pay is now %(amount)s. "
            "Check it, then place your order.",
            amount=format_money(cart.total - wallet.offer.applied, cart.currency),
        )
    if cart.total - shown > 0 and gateway not in offered:
        return gettext("Choose how to pay.")
    return None


def _shown_wallet_part(form: CheckoutForm, cart: CartSummary) -> Decimal:
    text = (form.wallet_part.data or "").strip()
    return parse_amount(text, cart.currency) if text else from_minor(0, cart.currency)


def render_checkout(page: CheckoutPage) -> Markup:
    """``{{ partialpay_checkout(page) }}``: the wallet choice, the payment methods and the
    hidden checkout fields, inside the host's checkout form
    (``partialpay/checkout_fields.html``, which a host may shadow)."""
    return Markup(render_template("partialpay/checkout_fields.html", page=page))  # noqa: S704


_BUY_BUTTON = (
    '{% from "partialpay/_blocks.html" import buy_button %}'
    "{{ buy_button(offer_id, label=label, allow_partial=allow_partial) }}"
)


def render_buy_button(
    offer_id: str | int, label: str | None = None, *, allow_partial: bool = True
) -> Markup:
    """``{{ partialpay_buy_button(product.id) }}``: the ``buy_button`` block of
    ``partialpay/_blocks.html``, signed for whoever is signed in."""
    html = render_template_string(
        _BUY_BUTTON, offer_id=offer_id, label=label, allow_partial=allow_partial
    )
    return Markup(html)  # noqa: S704
