"""A complete little shop that uses flask-partialpay: run ``make demo`` to see it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel, get_locale
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from sqlalchemy import func, or_, select

from flask_partialpay import OrderInfo, PartialPay
from flask_partialpay.core.money import to_minor
from flask_partialpay.host import signals
from flask_partialpay.host.customers import CustomerInfo
from flask_partialpay.web.security_headers import add_security_headers

from .card_gateways import choose_gateways
from .instance_secrets import load_secrets
from .language import LanguageForm, select_locale
from .models import User, db, naive_utcnow, order_by_number
from .offers import ShopOffers

partialpay = PartialPay()
login_manager = LoginManager()
csrf = CSRFProtect()
# partialpay.init_app adds the extension's revisions to it.
migrate = Migrate()
babel = Babel()

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: dict[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """The shop; ``config`` overrides any setting, ``instance_path`` the instance folder
    (where the SQLite database and the generated secrets live)."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL", "sqlite:///" + os.path.join(app.instance_path, "shop.sqlite")
        ),
        PARTIALPAY_WALLET_CURRENCIES=("INR", "USD"),
        # Scripts cannot read the cookies, and a form another site posts does not carry them.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    _configure_mail(app, config or {})
    app.config.update(config or {})
    # A demonstration shop: cards are paid on the sandbox's pretend card page, and through
    # Stripe too when its keys are in the config or the environment.
    choose_gateways(app, config or {})
    # SECRET_KEY and PARTIALPAY_SANDBOX_SECRET: the config, else the environment, else
    # random ones made on the first run and kept in the instance folder.
    load_secrets(app)
    # Sent over HTTPS only, except in debug mode (a development server without TLS).
    # Browsers treat http://127.0.0.1 and http://localhost as secure, so ``make demo``
    # signs in over plain HTTP all the same.
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if name not in (config or {}):
            app.config[name] = not app.debug

    db.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    partialpay.init_app(app, db, customer_directory=ShopCustomers(), offer_catalogue=ShopOffers())

    from . import admin, auth, demo, guards, inbox, language, shop

    guards.install(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(language.bp)
    app.context_processor(lambda: {"language_form": _language_form()})
    app.register_blueprint(shop.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(inbox.bp)
    # Every page of the shop, not only the extension's: not framed, no inline script.
    app.after_request(add_security_headers)
    app.cli.add_command(demo.demo_command)
    # Only this app's payments concern this app's orders.
    signals.order_fully_paid.connect(mark_order_paid, sender=app)
    # An instalment order is done when it is completed, automatically or by an admin once
    # the "considered successful" amount is paid, which may be less than its total.
    signals.order_completed.connect(mark_order_paid, sender=app)
    signals.order_declined.connect(mark_order_declined, sender=app)
    for wallet_part_changed in (
        signals.wallet_applied,
        signals.wallet_captured,
        signals.wallet_released,
    ):
        wallet_part_changed.connect(show_wallet_part, sender=app)
    return app


def _configure_mail(app: Flask, config: dict[str, Any]) -> None:
    """E-mail on, written as files to the instance folder's ``mail/`` (the demo needs no
    mail server); sent by SMTP when ``MAIL_SERVER`` is in the environment. Off with
    ``SHOP_MAIL=off`` in the environment, and in tests unless a test turns it on
    (``PARTIALPAY_MAIL``), so the others send nothing. The links in e-mails sent by
    ``run-due`` use ``SHOP_SERVER_NAME`` (default ``127.0.0.1:5000``, the demo's address)."""
    server = os.environ.get("MAIL_SERVER")
    app.config.update(
        PARTIALPAY_MAIL=not config.get("TESTING") and os.environ.get("SHOP_MAIL") != "off",
        PARTIALPAY_MAIL_SENDER=os.environ.get("MAIL_DEFAULT_SENDER", "shop@example.com"),
        PARTIALPAY_MAIL_ADMIN=os.environ.get("SHOP_ADMIN_EMAIL", "admin@example.com"),
        PARTIALPAY_LOW_BALANCE={"*": "10"},
        MAIL_BACKEND="smtp" if server else "file",
        MAIL_FILE_PATH=os.path.join(app.instance_path, "mail"),
    )
    if app.config["PARTIALPAY_MAIL"] and not app.config.get("SERVER_NAME"):
        # The plans' reminders link to the payment page, and `flask partialpay run-due` has
        # no request to take the shop's address from: the demo's own (`make demo`).
        app.config["SERVER_NAME"] = os.environ.get("SHOP_SERVER_NAME", "127.0.0.1:5000")
    if server:
        app.config.update(
            MAIL_SERVER=server,
            MAIL_PORT=int(os.environ.get("MAIL_PORT", "587")),
            MAIL_USE_TLS=os.environ.get("MAIL_USE_TLS", "1") == "1",
            MAIL_USERNAME=os.environ.get("MAIL_USERNAME"),
            MAIL_PASSWORD=os.environ.get("MAIL_PASSWORD"),
            MAIL_TIMEOUT=30,
        )


def _language_form() -> LanguageForm:
    form = LanguageForm(formdata=None)
    form.language.data = str(get_locale() or "en")
    return form


class ShopCustomers:
    """The shop's users, as the extension's admin wallet pages look them up."""

    LIMIT = 20

    def search(self, query: str) -> list[CustomerInfo]:
        """Users whose email or name contains ``query``, ignoring case."""
        needle = query.strip().lower()
        if not needle:
            return []
        users = db.session.scalars(
            select(User)
            .where(
                or_(
                    func.lower(User.email).contains(needle, autoescape=True),
                    func.lower(User.name).contains(needle, autoescape=True),
                )
            )
            .order_by(User.name, User.id)
            .limit(self.LIMIT)
        )
        return [_customer_info(user) for user in users]

    def get(self, customer_id: str) -> CustomerInfo | None:
        # Shop user ids are integers; anything else (or too long for the column) is nobody.
        if not (customer_id.isascii() and customer_id.isdigit() and len(customer_id) < 10):
            return None
        user = db.session.get(User, int(customer_id))
        return _customer_info(user) if user is not None else None


def _customer_info(user: User) -> CustomerInfo:
    return CustomerInfo(
        customer_id=str(user.get_id()), name=user.name, email=user.email, locale=user.language
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


@partialpay.order_loader
def load_order(reference: str) -> OrderInfo | None:
    """The host contract's order loader: the extension asks for an order by its number."""
    order = order_by_number(reference)
    return order.info() if order is not None else None


def mark_order_paid(app: Flask, order: Any, **extra: Any) -> None:
    """The extension says the order is paid in full, or completed: the shop marks its own
    order paid. Both signals come for one order; the second changes nothing."""
    shop_order = order_by_number(order.reference)
    if shop_order is not None and shop_order.status == "awaiting_payment":
        shop_order.status = "paid"
        shop_order.paid_at = naive_utcnow()


def mark_order_declined(app: Flask, order: Any, **extra: Any) -> None:
    """An admin declined the order: the customer can no longer pay it."""
    shop_order = order_by_number(order.reference)
    if shop_order is not None and shop_order.status == "awaiting_payment":
        shop_order.status = "declined"


def show_wallet_part(app: Flask, order: Any, **extra: Any) -> None:
    """The order's "Via wallet" line follows its wallet part: gone when the part went back
    to the balance (the card failed, the hold lapsed, the order was cancelled unpaid), and
    back when it was taken again after a lapse (the card was recorded late)."""
    shop_order = order_by_number(order.reference)
    if shop_order is not None and not shop_order.is_offer:
        shop_order.wallet_minor = to_minor(
            partialpay.checkout.via_wallet(order), shop_order.currency
        )
