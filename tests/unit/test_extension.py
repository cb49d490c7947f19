"""The extension object: registration, settings, and the host's order events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import (
    ConfigurationError,
    IdempotencyConflict,
    OrderInfo,
    OrderRecord,
    PartialPay,
    PartialPayModel,
    Payment,
    UnknownSetting,
    current_partialpay,
)
from flask_partialpay.core.errors import ProcessorUnavailable
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.payments.gateways.base import StartOutcome
from tests.unit.bare import db

SANDBOX_AND_MANUAL = ("sandbox_card", "manual")


def bare_app(**config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bare")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", TESTING=True)
    app.config.update(PARTIALPAY_GATEWAYS=SANDBOX_AND_MANUAL)  # a test host: the sandbox
    app.config.update(config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


def test_init_app_twice_on_one_app_says_so() -> None:
    app, database = bare_app()
    extension = PartialPay(app, database)
    with pytest.raises(ConfigurationError, match="already registered"):
        extension.init_app(app, database)


def test_one_object_serves_two_apps_with_their_own_state() -> None:
    first, first_db = bare_app()
    second, second_db = bare_app(PARTIALPAY_GATEWAYS=("manual",))
    extension = PartialPay()
    extension.init_app(first, first_db)
    extension.init_app(second, second_db)
    assert first.extensions["partialpay"] is not second.extensions["partialpay"]
    with second.app_context():
        assert [g.name for g in extension.checkout.available_gateways()] == ["manual"]
    with first.app_context():
        assert [g.name for g in extension.checkout.available_gateways()] == [
            "sandbox_card",
            "manual",
        ]


def test_each_service_is_the_one_of_the_app_in_context() -> None:
    first, first_db = bare_app()
    second, second_db = bare_app()
    extension = PartialPay()
    extension.init_app(first, first_db)
    extension.init_app(second, second_db)
    names = ("orders", "checkout", "instalments", "wallets")
    with first.app_context():
        in_first = {name: getattr(extension, name) for name in names}
        for name in names:
            assert in_first[name] is getattr(first.extensions["partialpay"], name)
            assert in_first[name] is getattr(current_partialpay, name)
    with second.app_context():
        for name in names:
            assert getattr(extension, name) is getattr(second.extensions["partialpay"], name)
            assert getattr(extension, name) is not in_first[name]
    # Nothing of an app is kept on the extension object itself.
    assert not any(isinstance(value, Flask | SQLAlchemy) for value in vars(extension).values())


def test_a_misspelled_setting_in_the_config_stops_the_app_with_a_suggestion() -> None:
    app, database = bare_app(PARTIALPAY_GATEWAY=("manual",))
    with pytest.raises(UnknownSetting, match="did you mean PARTIALPAY_GATEWAYS"):
        PartialPay(app, database)


def test_reading_a_misspelled_setting_raises() -> None:
    app, database = bare_app()
    PartialPay(app, database)
    with app.app_context():
        assert setting("DB_RETRIES") == 5
        with pytest.raises(UnknownSetting, match="PARTIALPAY_DB_RETRYS is not a flask-partialpay"):
            setting("DB_RETRYS")


def test_an_unknown_gateway_name_is_refused_at_start() -> None:
    app, database = bare_app(PARTIALPAY_GATEWAYS=("sandbox_card", "paypal"))
    with pytest.raises(ConfigurationError, match="'paypal'"):
        PartialPay(app, database)


def test_using_the_extension_on_an_app_without_init_app_says_how_to_fix_it() -> None:
    app, _ = bare_app()
    with app.app_context(), pytest.raises(ConfigurationError, match="init_app"):
        PartialPay().checkout.available_gateways()
    with app.app_context(), pytest.raises(ConfigurationError, match="init_app"):
        current_partialpay.wallets  # noqa: B018


def test_current_partialpay_is_the_state_of_the_app_in_context() -> None:
    """What views and commands use instead of importing the extension."""
    first, first_db = bare_app()
    second, second_db = bare_app(PARTIALPAY_GATEWAYS=("manual",))
    extension = PartialPay()
    extension.init_app(first, first_db)
    extension.init_app(second, second_db)
    for app in (first, second):
        with app.app_context():
            state = app.extensions["partialpay"]
            assert current_partialpay._get_current_object() is state  # type: ignore[attr-defined]
            assert PartialPay.state() is state
            assert current_partialpay.extension is extension
            assert current_partialpay.gateways is state.gateways


def test_init_app_needs_flask_sqlalchemy() -> None:
    with pytest.raises(ConfigurationError, match="Flask-SQLAlchemy"):
        PartialPay(Flask("no_db"))


@pytest.fixture
def partialpay_config() -> dict[str, Any]:
    """The gateways of a shop that offers the sandbox card, and so has its tables."""
    return {"PARTIALPAY_GATEWAYS": ("sandbox_card", "manual")}


@pytest.fixture
def without_loader(app: Flask, partialpay: PartialPay) -> PartialPay:
    """A host that registers its orders with orders.placed instead of a loader."""
    assert PartialPay.state().order_loader is None
    return partialpay


def info(reference: str = "A-1", total: str = "100.00") -> OrderInfo:
    return OrderInfo(reference=reference, customer_id="1", currency="USD", total=Decimal(total))


def test_placing_the_same_order_twice_keeps_one_account(without_loader: PartialPay) -> None:
    partialpay = without_loader
    first = partialpay.orders.placed(info())
    again = partialpay.orders.placed(info())
    assert first.id == again.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderRecord)) == 1


def test_an_order_cannot_change_its_total_once_placed(without_loader: PartialPay) -> None:
    partialpay = without_loader
    partialpay.orders.placed(info())
    with pytest.raises(IdempotencyConflict):
        partialpay.orders.placed(info(total="90.00"))
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert account.total == Decimal("100.00")


def test_money_collected_by_the_host_completes_the_order_once(without_loader: PartialPay) -> None:
    partialpay = without_loader
    partialpay.orders.placed(info())
    calls: list[Any] = []

    def receiver(sender: Flask, **kwargs: Any) -> None:
        calls.append(kwargs["order"].reference)

    signals.order_fully_paid.connect(receiver)
    try:
        assert partialpay.orders.paid("A-1", method="cash") is True
        assert partialpay.orders.paid("A-1", method="cash") is False
    finally:
        signals.order_fully_paid.disconnect(receiver)
    assert calls == ["A-1"]
    account = db.session.scalars(sa.select(OrderRecord)).one()
    assert (account.status, account.paid) == ("completed", Decimal("100.00"))
    payment = db.session.scalars(sa.select(Payment)).one()
    assert (payment.gateway, payment.status) == ("cash", "succeeded")


class FailingGateway:
    """A gateway whose start fails after the payment row was written."""

    name = "sandbox_card"
    confirmed_by_manager = False
    supports_refund = False

    def label(self) -> str:
        return "failing"

    def start(self, payment: Payment) -> StartOutcome:
        raise RuntimeError("gateway unreachable")


def test_a_payment_its_gateway_could_not_begin_is_cancelled_and_charges_nothing(
    app: Flask, without_loader: PartialPay, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask_login import LoginManager, UserMixin, login_user

    partialpay = without_loader

    class Customer(UserMixin):  # type: ignore[misc]
        id = "7"

    asha = Customer()
    LoginManager(app).user_loader(lambda user_id: None)
    partialpay.orders.placed(
        OrderInfo(reference="A-2", customer_id=asha.get_id(), currency="USD", total=Decimal(10))
    )
    monkeypatch.setitem(PartialPay.state().gateways, "sandbox_card", FailingGateway())
    with app.test_request_context():
        login_user(asha)
        with pytest.raises(ProcessorUnavailable):
            partialpay.orders.pay(
                "A-2", gateway="sandbox_card", return_url="/", idempotency_key="k" * 20
            )
    db.session.rollback()
    # The attempt is on record, cancelled; the order is due in full; no money moved.
    [payment] = db.session.scalars(sa.select(Payment)).all()
    assert (payment.status, payment.failure_message) == (
        "cancelled",
        "the payment service could not be reached",
    )
    account = partialpay.orders.find("A-2")
    assert account is not None and (account.paid, account.due) == (Decimal(0), Decimal(10))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "orders/1"])
def test_payments_only_return_to_this_site(app: Flask, partialpay: PartialPay, target: str) -> None:
    with app.test_request_context(), pytest.raises(ConfigurationError, match="return_url"):
        partialpay.orders.pay("A-3", gateway="manual", return_url=target)


def test_order_info_names_a_hosts_type_mistake() -> None:
    with pytest.raises(TypeError, match="customer_id must be a str or an int"):
        OrderInfo(reference="A", customer_id=7.0, currency="USD", total=Decimal(1))  # type: ignore[arg-type]
    # The host's integer ids are kept as strings, as user.get_id() gives them.
    info = OrderInfo(reference=1001, customer_id=7, currency="USD", total=Decimal(1))  # type: ignore[arg-type]
    assert (info.reference, info.customer_id) == ("1001", "7")
    with pytest.raises(TypeError, match="Decimal"):
        OrderInfo(reference="A", customer_id="7", currency="USD", total=1.5)  # type: ignore[arg-type]


def test_amounts_are_formatted_in_the_requests_locale() -> None:
    from flask_babel import Babel

    from flask_partialpay.host.i18n import format_money

    app, database = bare_app()
    Babel(app, locale_selector=lambda: "hi")
    PartialPay(app, database)
    with app.test_request_context():
        assert format_money(Decimal("100000"), "INR") == "₹1,00,000.00"


def test_without_flask_babel_the_extension_speaks_english_in_the_default_locale() -> None:
    from flask_partialpay.host.i18n import format_money, gettext

    app, database = bare_app(PARTIALPAY_DEFAULT_LOCALE="de_DE")
    PartialPay(app, database)
    with app.test_request_context():
        assert gettext("Pay %(amount)s", amount="5") == "Pay 5"
        assert format_money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"


def test_create_tables_makes_the_extensions_tables_in_the_hosts_database() -> None:
    app, database = bare_app()
    extension = PartialPay(app, database)
    with app.app_context():
        extension.create_tables()
        names = set(sa.inspect(database.engine).get_table_names())
    assert {table.name for table in PartialPayModel.metadata.sorted_tables} <= names


def test_the_clock_given_to_init_app_is_the_apps_time() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime(2027, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-3)))
    app, database = bare_app()
    PartialPay().init_app(app, database, clock=lambda: moment)
    with app.app_context():
        assert current_partialpay.now() == moment
        # Due dates are UTC days: 23:30 at UTC-3 is already the next day.
        assert current_partialpay.today() == datetime(2027, 2, 1, tzinfo=UTC).date()


def test_a_clock_without_a_time_zone_is_refused_when_read() -> None:
    from datetime import datetime

    app, database = bare_app()
    PartialPay().init_app(app, database, clock=lambda: datetime(2027, 1, 1))
    with app.app_context(), pytest.raises(ConfigurationError, match="aware"):
        current_partialpay.now()
