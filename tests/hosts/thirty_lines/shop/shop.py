"""A small shop: customers who sign in, products, a cart in the session, orders.

Its checkout takes the customer's wallet balance and a card for the rest (flask-partialpay).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from flask_partialpay import CartSummary, OfferMixin, OrderMixin, PartialPay

CURRENCY = "EUR"
TAX_RATE = Decimal("0.10")
CENT = Decimal("0.01")

db = SQLAlchemy()
login_manager = LoginManager()
login_manager.login_view = "login"
csrf = CSRFProtect()
partialpay = PartialPay()


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))


class Product(OfferMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    price_minor: Mapped[int]  # cents: money is never a float

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_minor).scaleb(-2)


class Order(OrderMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="placed")


def create_app(database_url: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change-me", SQLALCHEMY_DATABASE_URI=database_url)
    app.config.update(PARTIALPAY_GATEWAYS=("sandbox_card",))  # a test card processor
    app.config.update(config)
    db.init_app(app)
    login_manager.init_app(app)
    partialpay.init_app(app, db, order_model=Order, offer_model=Product)
    csrf.init_app(app)
    app.add_template_filter(lambda amount: f"€{amount:,.2f}", "money")
    with app.app_context():
        db.create_all()
        partialpay.create_tables()
    register_views(app)
    return app


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def cart_summary() -> CartSummary:
    _, subtotal, tax = cart_contents()
    return CartSummary(current_user.get_id(), CURRENCY, subtotal, tax)


def cart_contents() -> tuple[list[tuple[Product, int]], Decimal, Decimal]:
    """The cart's products and quantities, its subtotal and its tax."""
    items = [(db.get_or_404(Product, int(p)), n) for p, n in session.get("cart", {}).items()]
    subtotal = sum((product.price * quantity for product, quantity in items), Decimal("0.00"))
    return items, subtotal, (subtotal * TAX_RATE).quantize(CENT, ROUND_HALF_UP)


def place_order() -> Order:
    """The customer's order for what the cart holds now (added, not committed)."""
    items, subtotal, tax = cart_contents()
    if not items:
        abort(400)
    total_minor = int((subtotal + tax).scaleb(2))
    order = Order(customer_id=current_user.id, currency=CURRENCY, total_minor=total_minor)
    db.session.add(order)
    return order


def register_views(app: Flask) -> None:
    @app.get("/")
    def products() -> str:
        return render_template("products.html", products=db.session.scalars(select(Product)))

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        if request.method == "POST":
            user = db.session.scalar(select(User).filter_by(email=request.form.get("email")))
            if user and check_password_hash(user.password_hash, request.form.get("password", "")):
                login_user(user)
                return redirect(url_for("products"))
            flash("Wrong e-mail or password.")
        return render_template("login.html")

    @app.post("/cart/<int:product_id>")
    @login_required
    def add_to_cart(product_id: int) -> Response:
        product = db.get_or_404(Product, product_id)
        cart = session.setdefault("cart", {})
        cart[str(product.id)] = min(cart.get(str(product.id), 0) + 1, 99)
        session.modified = True
        return redirect(url_for("cart"))

    @app.get("/cart")
    @login_required
    def cart() -> str:
        items, subtotal, tax = cart_contents()
        totals = [("Subtotal", subtotal), ("Tax (10%)", tax), ("Total", subtotal + tax)]
        page = partialpay.checkout_page(cart_summary(), totals)
        return render_template("cart.html", items=items, totals=page.lines, checkout=page)

    @app.post("/checkout")
    @login_required
    def checkout() -> Response:
        submitted = partialpay.submit_checkout(cart_summary(), place_order)
        if submitted.placed:
            session.pop("cart", None)
        return redirect(submitted.url)

    @app.get("/orders/<int:order_id>")
    @login_required
    def order(order_id: int) -> str:
        order = db.get_or_404(Order, order_id)
        if order.customer_id != current_user.id:
            abort(404)
        return render_template("order.html", order=order, total=Decimal(order.total_minor) / 100)
