"""A second host for flask-partialpay, as small as a host can be: customers and invoices.

It shares nothing with ``example_shop``: its own models, its own references ("INV-7"), its
own admin column, and it keeps the extension's default page layout. Everything above
"Pages" is the wiring a host writes to take payments, the wallet at checkout included; the
pages below are just enough for the tests to drive it over HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template_string, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.wrappers import Response

from flask_partialpay import (
    CartSummary,
    Gateway,
    IdempotentForm,
    InvalidAmount,
    OrderInfo,
    OrderRecord,
    PartialPay,
    PartialPayError,
    WalletBalanceChanged,
    from_minor,
    parse_amount,
    translate_error,
    wallet_choice,
)
from flask_partialpay.host import signals


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
login_manager.login_view = "pages.login"  # where the extension sends anonymous visitors
csrf = CSRFProtect()
partialpay = PartialPay()


class Customer(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    is_staff: Mapped[bool] = mapped_column(default=False)


class Invoice(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # "INV-7"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int]  # cents: money is never a float
    paid: Mapped[bool] = mapped_column(default=False)


def create_app(database_url: str, gateways: Sequence[Gateway] = (), **config: Any) -> Flask:
    """The host's app; ``gateways`` are payment methods of its own, beside the built-in ones."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="minimal-host-secret", SQLALCHEMY_DATABASE_URI=database_url)
    app.config.update(PARTIALPAY_WALLET_CURRENCIES=("EUR", "INR"))  # wallets at checkout
    app.config.update(PARTIALPAY_GATEWAYS=("sandbox_card", "manual"))  # a test host: the sandbox
    app.config.update(config)
    db.init_app(app)
    login_manager.init_app(app)
    partialpay.init_app(
        app,
        db,
        order_loader=load_invoice,
        admin_check=lambda user: user.is_authenticated and user.is_staff,
        gateways=gateways,
    )
    csrf.init_app(app)  # after PartialPay on purpose: its gateway callbacks stay exempt
    # A module-level receiver: blinker holds receivers weakly, a nested function would vanish.
    signals.order_fully_paid.connect(mark_invoice_paid, sender=app)
    app.register_blueprint(pages)  # the host's own pages, below
    with app.app_context():
        db.create_all()
        partialpay.create_tables()  # the sandbox processor's too: it offers the card
    return app


@login_manager.user_loader
def load_customer(customer_id: str) -> Customer | None:
    return db.session.get(Customer, int(customer_id))


def invoice_by_reference(reference: str) -> Invoice | None:
    return db.session.scalars(select(Invoice).filter_by(reference=reference)).one_or_none()


def load_invoice(reference: str) -> OrderInfo | None:
    """PartialPay asks for an order it has not seen yet: what is due, from whom."""
    invoice = invoice_by_reference(reference)
    return None if invoice is None else invoice_info(invoice)


def invoice_info(invoice: Invoice) -> OrderInfo:
    return OrderInfo(
        reference=invoice.reference,
        customer_id=str(invoice.customer_id),  # as Customer.get_id() gives it
        currency=invoice.currency,
        total=from_minor(invoice.total_minor, invoice.currency),
    )


def invoice_summary(invoice: Invoice) -> CartSummary:
    """The invoice as the wallet reads it at checkout: what is left to pay, no tax of its own.

    That is the total less what is paid or held for it already: a wallet part still held
    for an earlier attempt (a card page left open) is not offered twice.
    """
    account = partialpay.orders.find(invoice.reference)
    total = from_minor(invoice.total_minor, invoice.currency)
    return CartSummary(
        customer_id=current_user.get_id(),
        currency=invoice.currency,
        subtotal=account.due if account is not None else total,
        tax=from_minor(0, invoice.currency),
    )


def pay_invoice(invoice: Invoice, form: IdempotentForm, gateway: str, back: str) -> str:
    """Hold the wallet part, open the order with it, and start paying the rest: a URL.

    The key is the pay form's, made once per page view and prefixed with the invoice: the
    same page submitted twice holds and pays once; a new attempt (after a declined card
    gave the wallet part back) gets a new key and a new hold. The wallet part must be the
    one the page showed: if the balance changed since, nothing is held and the shopper sees
    the new total before paying (the card is never asked for more than the page said).
    """
    key = f"{invoice.reference}:{form.idempotency_key.data}"
    shown = shown_wallet_part(invoice.currency)
    partialpay.checkout.hold_wallet(invoice_summary(invoice), checkout_key=key, expected=shown)
    if partialpay.orders.placed(invoice_info(invoice), checkout_key=key).status == "completed":
        flash("Invoice paid.", "success")  # the wallet paid it all (or it already was)
        return back
    started = partialpay.orders.pay(
        invoice.reference, gateway=gateway, return_url=back, idempotency_key=f"pay:{key}"
    )
    return started.redirect_url


def shown_wallet_part(currency: str) -> Decimal:
    """The "Via wallet" amount the invoice page showed (its hidden field), read strictly."""
    try:
        return parse_amount(request.form.get("wallet_part", ""), currency, allow_zero=True)
    except InvalidAmount:
        raise WalletBalanceChanged() from None  # a page this host did not make


def mark_invoice_paid(app: Flask, order: OrderRecord, **extra: Any) -> None:
    """Runs inside PartialPay's transaction: this write commits with the payment."""
    invoice = invoice_by_reference(order.reference)
    if invoice is not None:
        invoice.paid = True


# -- Pages: the host's own, kept tiny for the tests -------------------------------------

pages = Blueprint("pages", __name__)

INVOICE_PAGE = """<!doctype html>
<title>Invoice {{ invoice.reference }}</title>
{% for category, message in get_flashed_messages(with_categories=true) %}
  <p class="flash-{{ category }}">{{ message }}</p>
{% endfor %}
<h1>Invoice {{ invoice.reference }}</h1>
<p>Total: {{ total|partialpay_money(invoice.currency) }}</p>
<p id="status">{{ "Paid" if invoice.paid else "Unpaid" }}</p>
{% if not invoice.paid %}
{% for fee in fees %}
  <p class="fee">{{ fee.label }}: {{ fee.amount|partialpay_money(invoice.currency) }}</p>
{% endfor %}
<p id="to-pay">New total to pay: {{ to_pay|partialpay_money(invoice.currency) }}</p>
{% include "partialpay/_wallet_choice.html" %}
<form method="post" action="{{ url_for('pages.pay', reference=invoice.reference) }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  {{ form.idempotency_key() }}
  <input type="hidden" name="wallet_part" value="{{ wallet.offer.applied }}">
  {% for gateway in gateways if to_pay > 0 %}
    <label><input type="radio" name="gateway" value="{{ gateway.name }}">
      {{ gateway.label() }}</label>
  {% endfor %}
  <button type="submit">Pay</button>
</form>
{% endif %}
"""


def own_invoice_or_404(reference: str) -> Invoice:
    query = select(Invoice).filter_by(reference=reference, customer_id=current_user.id)
    invoice: Invoice = db.first_or_404(query)
    return invoice


@pages.get("/login")
def login() -> str:
    return "This test host logs customers in at /login/<customer id>."


@pages.get("/login/<int:customer_id>")
def login_as(customer_id: int) -> str:
    login_user(db.get_or_404(Customer, customer_id))
    return "Logged in."


@pages.route("/invoices/<reference>", methods=["GET", "POST"])
@login_required
def invoice(reference: str) -> str | Response:
    invoice = own_invoice_or_404(reference)
    summary = invoice_summary(invoice)
    # "Use wallet balance" posts back here.
    wallet = wallet_choice(summary, request.form if request.method == "POST" else None)
    if wallet.saved:
        return redirect(url_for("pages.invoice", reference=invoice.reference))
    fees = partialpay.checkout.cart_fees(summary)
    return render_template_string(
        INVOICE_PAGE,
        invoice=invoice,
        total=from_minor(invoice.total_minor, invoice.currency),
        fees=fees,
        to_pay=summary.total + sum(fee.amount for fee in fees),
        wallet=wallet,
        form=IdempotentForm(formdata=None),
        gateways=partialpay.checkout.available_gateways(),
    )


@pages.post("/invoices/<reference>/pay")
@login_required
def pay(reference: str) -> Response:
    invoice = own_invoice_or_404(reference)
    back = url_for("pages.invoice", reference=invoice.reference)
    form = IdempotentForm()
    if not form.validate_on_submit():
        abort(400)  # no key: a page this host did not make
    try:
        return redirect(pay_invoice(invoice, form, request.form.get("gateway", ""), back))
    except PartialPayError as error:
        flash(translate_error(error), "error")
        return redirect(back)
