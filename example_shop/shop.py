"""Catalogue, cart, checkout and orders: the shopper's side of the shop."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import lazyload
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from flask_partialpay import (
    CartSummary,
    InvalidAmount,
    PartialPayError,
    WalletBalanceChanged,
    WalletChoiceView,
    format_money,
    translate_error,
    wallet_choice,
)
from flask_partialpay.core.money import from_minor, parse_amount, to_minor
from flask_partialpay.db.transactions import insert_or_winner, update_rows

from . import partialpay
from .carts import MAX_QUANTITY, cart_lines, in_cart_transaction, mixing_refusal
from .forms import AddToCartForm, CsrfOnlyForm, PayForm
from .models import CartLine, Order, OrderLine, Product, db, order_by_number
from .offers import offer_product, offer_tax
from .pricing import cart_summary, cart_totals

bp = Blueprint("shop", __name__)


def _cart_lines() -> list[CartLine]:
    return list(
        db.session.scalars(
            select(CartLine).where(CartLine.user_id == current_user.id).order_by(CartLine.id)
        )
    )


def _gateway_choices(
    cart: CartSummary | None = None, order: str | None = None
) -> list[tuple[str, str]]:
    # The "Wallet" method is among them when the balance covers the cart or the order.
    return [(g.name, g.label()) for g in partialpay.checkout.available_gateways(cart, order=order)]


@bp.get("/")
def catalogue() -> str:
    products = db.session.scalars(select(Product).order_by(Product.currency, Product.id))
    return render_template("catalogue.html", products=list(products), form=AddToCartForm())


@bp.get("/offers/<row_id:product_id>")
def offer(product_id: int) -> str:
    """An offer's own page: its direct link, so "Buy now" here pays it in full."""
    product = offer_product(str(product_id)) or abort(404)
    return render_template(
        "offer.html", product=product, tax=offer_tax(product), form=CsrfOnlyForm()
    )


@bp.post("/offers/<row_id:product_id>/buy")
def buy_offer(product_id: int) -> Response:
    """The "Buy now" button: the shopper's order for the offer, and its payment step.

    Opened from the direct link, the offer never offers "Make Payment Partial": that is for
    a "Buy" button sent to the customer or placed on a landing page.
    """
    product = offer_product(str(product_id)) or abort(404)
    back = url_for("shop.offer", product_id=product.id)
    if not current_user.is_authenticated:
        # Back to the offer page after signing in: this form cannot be replayed as a GET.
        return redirect(url_for("auth.login", next=back))
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        return redirect(partialpay.instalments.open_offer(str(product.id), allow_partial=False))
    except PartialPayError as error:
        flash(translate_error(error), "error")
        return redirect(back)


@bp.get("/landing/course")
def course_landing() -> str:
    """A landing page for the course: its "Buy" block offers "Make Payment Partial"."""
    product = db.session.scalars(select(Product).where(Product.sku == "course")).first()
    if product is None:
        abort(404)
    return render_template("landing_course.html", product=product)


@bp.post("/cart/add/<row_id:product_id>")
@login_required
def add_to_cart(product_id: int) -> Response:
    product = db.session.get(Product, product_id) or abort(404)
    form = AddToCartForm()
    if not form.validate_on_submit():
        flash("Choose a quantity from 1 to 99.", "error")
        return redirect(url_for("shop.catalogue"))
    user_id, name, quantity = int(current_user.id), product.name, form.quantity.data or 1
    refusal = in_cart_transaction(user_id, lambda: _add_line(user_id, product_id, quantity))
    if refusal is not None:
        flash(refusal, "error")
        return redirect(url_for("shop.cart"))
    flash(f"{name} is in your cart.", "success")
    return redirect(url_for("shop.cart"))


def _add_line(user_id: int, product_id: int, quantity: int) -> str | None:
    """Add ``quantity`` of the product to the locked cart; why not, if it may not go there."""
    product = db.session.get_one(Product, product_id)
    lines = cart_lines(user_id)
    if lines and lines[0].product.currency != product.currency:
        return (
            f"Your cart is in {lines[0].product.currency}. Check it out or empty it "
            f"before adding {product.currency} items."
        )
    if lines and any(line.product.is_wallet_topup != product.is_wallet_topup for line in lines):
        # Wallet credit is bought on its own: its order credits the wallet with all it costs.
        return "A wallet top-up is bought on its own. Check out your cart first."
    line = next((line for line in lines if line.product_id == product_id), None)
    if line is None:
        # Under the lock no other request adds this line meanwhile; should one that skipped
        # the lock have added it, the unique key refuses this row and the quantity is added
        # to that one instead of answering with an error.
        line, inserted = insert_or_winner(
            db.session,
            CartLine(user_id=user_id, product_id=product_id, quantity=quantity),
            select(CartLine)
            .where(CartLine.user_id == user_id, CartLine.product_id == product_id)
            # Read with FOR UPDATE, which PostgreSQL refuses on an outer join's side.
            .options(lazyload(CartLine.product)),
        )
        if inserted:
            return None
    added = CartLine.quantity + quantity
    update_rows(
        db.session,
        update(CartLine)
        .where(CartLine.id == line.id)
        .values(quantity=case((added > MAX_QUANTITY, MAX_QUANTITY), else_=added)),
    )
    return None


@bp.post("/cart/remove/<row_id:line_id>")
@login_required
def remove_from_cart(line_id: int) -> Response:
    line = db.session.get(CartLine, line_id)
    if line is None or line.user_id != current_user.id:
        abort(404)
    user_id = int(current_user.id)
    # A statement, not the loaded row: a checkout may have ordered (and removed) the line
    # a moment ago, and there is then nothing left to remove.
    in_cart_transaction(
        user_id,
        lambda: db.session.execute(
            delete(CartLine).where(CartLine.id == line_id, CartLine.user_id == user_id)
        ),
    )
    return redirect(url_for("shop.cart"))


@bp.route("/cart", methods=["GET", "POST"])
@login_required
def cart() -> str | Response:
    """The cart, its totals and the checkout form; the wallet choice posts back here."""
    lines = _cart_lines()
    summary = cart_summary(current_user.get_id(), lines)
    if summary is None:
        return render_template("cart.html", lines=lines)
    wallet = wallet_choice(summary, _submitted())
    if wallet.saved:
        return redirect(url_for("shop.cart"))
    return _cart_page(lines, summary, wallet)


def _submitted() -> MultiDict[str, str] | None:
    """The form data this request submitted, for the wallet choice to read; None on a GET."""
    return request.form if request.method == "POST" else None


def _cart_page(lines: list[CartLine], summary: CartSummary, wallet: WalletChoiceView) -> str:
    totals = cart_totals(partialpay, summary)
    form = PayForm(gateways=_gateway_choices(summary))
    form.wallet.data = str(totals.wallet_part) if totals.wallet_part else ""
    return render_template("cart.html", lines=lines, totals=totals, wallet=wallet, form=form)


@bp.post("/checkout")
@login_required
def checkout() -> str | Response:
    """Place the order from the cart (totals recomputed here) and start its payment."""
    summary = cart_summary(current_user.get_id(), _cart_lines())
    form = PayForm(gateways=_gateway_choices(summary))
    if not form.validate_on_submit():
        # Nothing was placed or charged: say why (no method chosen, a tampered form).
        for message in [m for errors in form.errors.values() for m in errors] or [
            "Choose how to pay."
        ]:
            flash(str(message), "error")
        return redirect(url_for("shop.cart"))
    key = str(form.key.data)
    gateway = str(form.gateway.data)
    order = db.session.scalars(select(Order).where(Order.checkout_key == key)).one_or_none()
    if order is None:
        if summary is None:
            flash("Your cart is empty.", "error")
            return redirect(url_for("shop.cart"))
        unchanged = _honour_wallet_choice(summary, form)
        if unchanged is not None:
            return unchanged
        try:
            shown = None if gateway == "wallet" else _shown_wallet_part(form, summary.currency)
            order = _place_order(int(current_user.id), key, shown_wallet_part=shown)
        except (PartialPayError, CartRefused) as error:
            # The wallet balance changed since the cart was shown, or the cart cannot be
            # one order: nothing was placed.
            flash(str(error) if isinstance(error, CartRefused) else translate_error(error), "error")
            return redirect(url_for("shop.cart"))
        if order is None:
            # Another submission (another tab) ordered this cart a moment ago.
            flash("Your cart is empty.", "error")
            return redirect(url_for("shop.cart"))
    elif order.user_id != current_user.id:
        abort(404)
    account = partialpay.orders.find(order.number)
    if account is not None and account.status == "completed":
        # The wallet paid it all: there is nothing left to pay elsewhere.
        flash("Paid from your wallet.", "success")
        return redirect(url_for("shop.order_detail", number=order.number))
    return _pay(order, gateway, key)


def _honour_wallet_choice(summary: CartSummary, form: PayForm) -> str | Response | None:
    """Apply the "Use wallet balance" choice as the checkout form showed it when submitted.

    The choice sits inside the checkout form, so "Place order" sends it whether or not
    "Apply" was pressed. When it changes what is left to pay (ticked without "Apply", say),
    nothing is placed: the cart comes back with the new total on its button, so the
    shopper is never charged an amount the button did not show. None: go on and place.
    """
    wallet = wallet_choice(summary, _submitted())
    if wallet.form.errors:
        # A wallet amount that cannot be applied: refused next to its field, nothing placed.
        return _cart_page(_cart_lines(), summary, wallet)
    if not wallet.saved or form.gateway.data == "wallet":
        return None  # the Wallet method pays the whole order, whatever the choice
    try:
        shown = _shown_wallet_part(form, summary.currency)
    except WalletBalanceChanged:
        return None  # a tampered amount: placing refuses it and says why
    if wallet.offer.applied == shown:
        return None
    to_pay = cart_totals(partialpay, summary).total
    flash(
        f"Your wallet choice is applied: the total to pay is now "
        f"{format_money(to_pay, summary.currency)}. Check it, then place your order.",
        "success",
    )
    return redirect(url_for("shop.cart"))


def _shown_wallet_part(form: PayForm, currency: str) -> Decimal:
    """The "Via wallet" amount the cart page showed (its hidden field), read strictly."""
    text = (form.wallet.data or "").strip()
    if not text:
        return from_minor(0, currency)
    try:
        return parse_amount(text, currency)
    except InvalidAmount:
        raise WalletBalanceChanged() from None


class CartRefused(Exception):
    """The cart cannot be placed as one order; the message says why."""


def _place_order(user_id: int, key: str, *, shown_wallet_part: Decimal | None) -> Order | None:
    """Place the order for the cart as it is now; None if it is empty.

    ``shown_wallet_part``: the wallet part the shopper saw, or None to pay without one.
    The cart is read, its wallet part held, the order written and the cart emptied in one
    transaction holding the cart's lock: the order's total is the total of its lines, and a
    second submission (the same key, or another tab's) waits, then finds the order placed
    or the cart empty.
    """

    def work() -> tuple[Order | None, bool]:
        placed = db.session.scalars(select(Order).where(Order.checkout_key == key)).one_or_none()
        if placed is not None:
            return placed, False
        cart = cart_lines(user_id)
        summary = cart_summary(str(user_id), cart)
        if summary is None:
            return None, False
        refusal = mixing_refusal(cart)
        if refusal is not None:
            raise CartRefused(refusal)
        # The wallet part is held before the order is written: if the balance changed, the
        # shopper keeps their cart and sees the new total instead of an order they did not
        # want. The extension's hold joins this transaction.
        held = (
            partialpay.checkout.hold_wallet(summary, checkout_key=key, expected=shown_wallet_part)
            if shown_wallet_part is not None
            else None
        )
        currency = summary.currency
        order = Order(
            user_id=user_id,
            currency=currency,
            subtotal_minor=to_minor(summary.subtotal, currency),
            tax_minor=to_minor(summary.tax, currency),
            total_minor=to_minor(summary.total, currency),
            wallet_minor=to_minor(held, currency) if held else 0,
            is_wallet_topup=summary.contains_wallet_topup,
            checkout_key=key,
            lines=[
                OrderLine(
                    product_id=line.product_id,
                    name=line.product.name,
                    unit_price_minor=line.product.price_minor,
                    quantity=line.quantity,
                )
                for line in cart
            ],
        )
        db.session.add(order)
        db.session.execute(delete(CartLine).where(CartLine.id.in_([line.id for line in cart])))
        db.session.flush()
        return order, True

    order, placed_now = in_cart_transaction(user_id, work)
    if order is not None and order.user_id != user_id:
        abort(404)  # another shopper's key: not this shopper's order
    if placed_now:
        assert order is not None
        partialpay.orders.placed(order.info())
    return order


def _pay(order: Order, gateway: str, key: str) -> Response:
    try:
        started = partialpay.orders.pay(
            order.number,
            gateway=gateway,
            return_url=url_for("shop.order_detail", number=order.number),
            idempotency_key=f"shop:{key}",
        )
    except PartialPayError as error:
        flash(translate_error(error), "error")
        return redirect(url_for("shop.order_detail", number=order.number))
    return redirect(started.redirect_url)


def _own_order_or_404(number: str) -> Order:
    order = order_by_number(number)
    if order is None or order.user_id != current_user.id:
        abort(404)
    return order


@bp.get("/orders")
@login_required
def orders() -> str:
    rows = db.session.scalars(
        select(Order).where(Order.user_id == current_user.id).order_by(Order.id.desc())
    )
    return render_template("orders.html", orders=list(rows))


@bp.get("/orders/<number>")
@login_required
def order_detail(number: str) -> str:
    order = _own_order_or_404(number)
    return render_template(
        "order.html",
        order=order,
        payments=partialpay.orders.payments(order.number),
        account=partialpay.orders.find(order.number),
        # An offer order is paid on the extension's payment step (in parts, where its link
        # allowed it); a cart order here.
        form=None if order.is_offer else PayForm(gateways=_gateway_choices(order=order.number)),
    )


@bp.post("/orders/<number>/pay")
@login_required
def pay_order(number: str) -> Response:
    order = _own_order_or_404(number)
    if order.is_offer:
        return redirect(url_for("partialpay.pay_step", reference=order.number))
    form = PayForm(gateways=_gateway_choices(order=order.number))
    if order.status != "awaiting_payment" or not form.validate_on_submit():
        flash("This order cannot be paid now.", "error")
        return redirect(url_for("shop.order_detail", number=number))
    return _pay(order, str(form.gateway.data), str(form.key.data))
