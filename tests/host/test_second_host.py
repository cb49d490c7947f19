"""The host contract, proved on a second host that is not the example shop.

``tests/host/minimal_host.py`` has its own customers, invoices ("INV-7"), admin column and no
layout of its own; one ``PartialPay`` object serves every app it creates. Each test runs
on SQLite, PostgreSQL and MariaDB; on the servers each app gets a database of its own, as
the example shop's tables (the extension's included) live in ``test``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from flask_partialpay import ConfigurationError, OrderRecord, Payment
from flask_partialpay.audit import audit
from flask_partialpay.host import signals
from flask_partialpay.ledger.models import Hold, Transfer
from flask_partialpay.sandbox import processor as sandbox_processor
from tests.backends import check_reachable, server_url
from tests.conftest import csrf_from, form_value
from tests.host.minimal_host import Customer, Invoice, create_app, db, partialpay

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
CALLBACK_URL = "/partialpay/gateways/sandbox_card/callback"
REFERENCE = "INV-7"


# -- databases and apps ------------------------------------------------------------------


def _run_on_server(server: str, statement: str) -> None:
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def new_database(backend: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Make an empty database called ``name`` on the backend under test; give its URL.

    On a server the name is prefixed with the configured database's ("test_..."), so that
    runs configured with different databases on one server never drop each other's.
    """
    if backend == "sqlite":
        yield lambda name: f"sqlite:///{tmp_path / name}.sqlite"
        return
    server = server_url(backend)
    check_reachable(server)
    drop = "DROP DATABASE IF EXISTS {}" + (" WITH (FORCE)" if backend == "postgresql" else "")
    prefix = sa.make_url(server).database or "partialpay"
    created: list[str] = []

    def make(name: str) -> str:
        name = f"{prefix}_{name}"
        _run_on_server(server, drop.format(name))
        _run_on_server(server, f"CREATE DATABASE {name}")
        created.append(name)
        return sa.make_url(server).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        _run_on_server(server, drop.format(name))


@dataclass
class Host:
    """One app of the minimal host, with the people the tests log in as."""

    app: Flask
    customer: int
    other_customer: int
    staff: int

    def client_for(self, customer_id: int) -> FlaskClient:
        client = self.app.test_client()
        assert client.get(f"/login/{customer_id}").status_code == 200
        return client

    def invoice(self, reference: str = REFERENCE) -> Invoice:
        with self.app.app_context():
            invoice = db.session.scalars(sa.select(Invoice).filter_by(reference=reference)).one()
            db.session.expunge(invoice)
            return invoice

    def account(self, reference: str = REFERENCE) -> tuple[str, int, int] | None:
        with self.app.app_context():
            account = partialpay.orders.find(reference)
            if account is None:
                return None
            return account.status, account.paid_minor, account.total_minor

    def payment(self, public_id: str) -> Payment:
        with self.app.app_context():
            payment = db.session.scalars(sa.select(Payment).filter_by(public_id=public_id)).one()
            db.session.expunge(payment)
            return payment


def _start_host(database_url: str, **options: Any) -> Iterator[Host]:
    app = create_app(database_url, TESTING=True, **options)
    with app.app_context():
        asha = Customer(name="Asha")
        ravi = Customer(name="Ravi")
        staff = Customer(name="Mira", is_staff=True)
        db.session.add_all([asha, ravi, staff])
        db.session.flush()
        db.session.add(
            Invoice(reference=REFERENCE, customer_id=asha.id, currency="EUR", total_minor=12000)
        )
        db.session.commit()
        host = Host(app, customer=asha.id, other_customer=ravi.id, staff=staff.id)
    yield host
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def host(new_database: Callable[[str], str]) -> Iterator[Host]:
    yield from _start_host(new_database("partialpay_second_host"))


@pytest.fixture
def host_b(new_database: Callable[[str], str], host: Host) -> Iterator[Host]:
    """A second app from the same factory, so the same PartialPay object, on its own data."""
    yield from _start_host(new_database("partialpay_second_host_b"))


# -- a customer paying --------------------------------------------------------------------


def start_payment(client: FlaskClient, gateway: str, reference: str = REFERENCE) -> str:
    """Open the invoice and press Pay with ``gateway``; the URL the host redirects to."""
    page = client.get(f"/invoices/{reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    response = client.post(
        f"/invoices/{reference}/pay",
        data={
            "csrf_token": csrf_from(html),
            "idempotency_key": form_value(html, "idempotency_key"),
            "wallet_part": form_value(html, "wallet_part"),
            "gateway": gateway,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location)


def pay_by_card(client: FlaskClient, card_url: str, number: str) -> Any:
    page = client.get(card_url)
    assert page.status_code == 200
    return client.post(
        card_url,
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "card_number": number,
            "expiry": "12/39",
            "cvc": "123",
        },
    )


def public_id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def test_card_payment_marks_the_invoice_paid(host: Host) -> None:
    client = host.client_for(host.customer)
    invoice_page = client.get(f"/invoices/{REFERENCE}").get_data(as_text=True)
    assert '<p id="status">Unpaid</p>' in invoice_page and "€120.00" in invoice_page

    card_url = start_payment(client, "sandbox_card")
    assert card_url.startswith("/partialpay/card/")
    card_page = client.get(card_url).get_data(as_text=True)
    # The host has no partialpay/layout.html: the extension's own layout frames the page.
    assert "<main>" in card_page and "<title>Pay by card</title>" in card_page
    assert REFERENCE in card_page and "€120.00" in card_page

    response = pay_by_card(client, card_url, SUCCESS_CARD)
    assert response.status_code == 302
    assert response.location == f"/invoices/{REFERENCE}"
    invoice_page = client.get(response.location).get_data(as_text=True)
    assert "Payment received. Thank you!" in invoice_page
    assert '<p id="status">Paid</p>' in invoice_page
    assert host.invoice().paid
    assert host.account() == ("completed", 12000, 12000)


def test_declined_card_leaves_the_invoice_unpaid(host: Host) -> None:
    client = host.client_for(host.customer)
    card_url = start_payment(client, "sandbox_card")
    response = pay_by_card(client, card_url, DECLINED_CARD)
    assert response.location == f"/invoices/{REFERENCE}"
    invoice_page = client.get(response.location).get_data(as_text=True)
    assert "Your card was declined." in invoice_page
    assert '<p id="status">Unpaid</p>' in invoice_page
    assert not host.invoice().paid
    assert host.payment(public_id_of(card_url)).status == "failed"
    assert host.account() == ("open", 0, 12000)


def test_bank_transfer_is_paid_when_the_hosts_admin_confirms_it(host: Host) -> None:
    client = host.client_for(host.customer)
    payment_url = start_payment(client, "manual")
    assert payment_url.startswith("/partialpay/payments/")
    page = client.get(payment_url).get_data(as_text=True)
    assert "Bank transfer" in page and "Until we confirm your transfer" in page
    assert host.payment(public_id_of(payment_url)).status == "pending"
    assert not host.invoice().paid
    assert host.account() == ("open", 0, 12000)

    # The host's admin_check (is_staff), not the default is_admin, guards the admin pages.
    other = host.client_for(host.other_customer)
    assert other.get("/partialpay/admin/payments").status_code == 403
    anonymous = host.app.test_client().get("/partialpay/admin/payments")
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")

    staff = host.client_for(host.staff)
    listing = staff.get("/partialpay/admin/payments")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert REFERENCE in html and "<main>" in html
    public_id = public_id_of(payment_url)
    response = staff.post(
        f"/partialpay/admin/payments/{public_id}/confirm", data={"csrf_token": csrf_from(html)}
    )
    assert response.status_code == 302
    assert host.invoice().paid
    assert host.account() == ("completed", 12000, 12000)
    payment = host.payment(public_id)
    assert (payment.status, payment.decided_by) == ("succeeded", str(host.staff))


def test_another_customer_cannot_open_the_payment_pages(host: Host) -> None:
    owner = host.client_for(host.customer)
    card_url = start_payment(owner, "sandbox_card")
    other = host.client_for(host.other_customer)
    assert other.get(card_url).status_code == 404
    assert owner.get(card_url).status_code == 200
    # Choosing a transfer instead replaces the card payment never charged: its page is
    # gone for the owner too (back to the invoice), and still a 404 for anyone else.
    transfer_url = start_payment(owner, "manual")
    assert other.get(transfer_url).status_code == 404
    assert other.get(card_url).status_code == 404
    assert owner.get(card_url).status_code == 302
    assert other.get(f"/invoices/{REFERENCE}").status_code == 404  # the host's own check


def test_the_extensions_pages_refuse_a_nul_byte_without_the_hosts_help(host: Host) -> None:
    """This host guards none of its own routes: the extension's pages guard themselves."""
    client = host.client_for(host.customer)
    card_url = start_payment(client, "sandbox_card")
    assert client.get("/partialpay/payments/%00").status_code == 400
    assert client.get(card_url + "%00").status_code == 400
    page = client.get(card_url).get_data(as_text=True)
    response = client.post(
        card_url,
        data={
            "csrf_token": csrf_from(page),
            "card_number": "4242 4242 4242 4242\x00",
            "expiry": "12/39",
            "cvc": "123",
        },
    )
    assert response.status_code == 400
    assert "control character" in response.get_data(as_text=True)
    assert host.payment(public_id_of(card_url)).status == "pending"


def test_signed_callback_gets_past_csrf_protect(host: Host) -> None:
    card_url = start_payment(host.client_for(host.customer), "sandbox_card")
    public_id = public_id_of(card_url)
    with host.app.app_context():
        state = host.app.extensions["partialpay"]
        payment = state.session.scalars(sa.select(Payment).filter_by(public_id=public_id)).one()
        charge = state.transaction(
            lambda: sandbox_processor.charge(
                state.session,
                payment_public_id=payment.public_id,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                card_number=re.sub(r"\D", "", SUCCESS_CARD),
            )
        )
        body, headers = sandbox_processor.encode(sandbox_processor.charge_event(charge))

    # A processor has no session and no CSRF token: only the signature vouches for it.
    processor = host.app.test_client()
    unsigned = processor.post(CALLBACK_URL, data=body, content_type="application/json")
    assert (unsigned.status_code, unsigned.get_data(as_text=True)) == (400, "bad signature")
    tampered = processor.post(CALLBACK_URL, data=body.replace(b"12000", b"1"), headers=headers)
    assert (tampered.status_code, tampered.get_data(as_text=True)) == (400, "bad signature")
    assert not host.invoice().paid

    signed = processor.post(CALLBACK_URL, data=body, headers=headers)
    assert (signed.status_code, signed.get_data(as_text=True)) == (200, "ok")
    assert host.invoice().paid
    assert host.account() == ("completed", 12000, 12000)
    again = processor.post(CALLBACK_URL, data=body, headers=headers)
    assert (again.status_code, again.get_data(as_text=True)) == (200, "duplicate")

    # CSRFProtect is on all the same: the host's own form refuses a post without a token.
    refused = host.client_for(host.customer).post(
        f"/invoices/{REFERENCE}/pay", data={"gateway": "sandbox_card"}
    )
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)


# -- one PartialPay object, two apps ------------------------------------------------------


def test_one_partialpay_object_serves_two_apps(host: Host, host_b: Host) -> None:
    state_a = host.app.extensions["partialpay"]
    state_b = host_b.app.extensions["partialpay"]
    assert state_a is not state_b
    assert state_a.extension is partialpay and state_b.extension is partialpay
    assert state_a.gateways["sandbox_card"] is not state_b.gateways["sandbox_card"]
    with host.app.app_context():
        url_a = db.engine.url
    with host_b.app.app_context():
        url_b = db.engine.url
    assert url_a != url_b

    with pytest.raises(ConfigurationError, match="already registered"):
        partialpay.init_app(host.app, db)
    assert host.app.extensions["partialpay"] is state_a


def test_signals_stay_with_the_app_that_sent_them(host: Host, host_b: Host) -> None:
    heard_by_a: list[str] = []
    heard_by_b: list[str] = []

    def on_a(app: Flask, order: OrderRecord, **extra: Any) -> None:
        heard_by_a.append(order.reference)

    def on_b(app: Flask, order: OrderRecord, **extra: Any) -> None:
        heard_by_b.append(order.reference)

    with (
        signals.order_fully_paid.connected_to(on_a, sender=host.app),
        signals.order_fully_paid.connected_to(on_b, sender=host_b.app),
    ):
        client = host.client_for(host.customer)
        pay_by_card(client, start_payment(client, "sandbox_card"), SUCCESS_CARD)
        assert host.invoice().paid
        assert (heard_by_a, heard_by_b) == ([REFERENCE], [])
        # App B has an invoice INV-7 of its own; nothing happened to it.
        assert not host_b.invoice().paid
        assert host_b.account() is None

        client_b = host_b.client_for(host_b.customer)
        pay_by_card(client_b, start_payment(client_b, "sandbox_card"), SUCCESS_CARD)
        assert host_b.invoice().paid
        assert (heard_by_a, heard_by_b) == ([REFERENCE], [REFERENCE])


# -- the wallet at checkout: the seed's ₹100 / ₹300 example on this host -------------------

INR_INVOICE = "INV-8"


def add_inr_invoice(host: Host, total_minor: int = 30000) -> None:
    with host.app.app_context():
        db.session.add(
            Invoice(
                reference=INR_INVOICE,
                customer_id=host.customer,
                currency="INR",
                total_minor=total_minor,
            )
        )
        db.session.commit()


def give(host: Host, amount: str, currency: str = "INR") -> None:
    with host.app.app_context():
        partialpay.state().wallets.credit(
            str(host.customer), amount, currency, reason="adjustment", memo="Opening credit"
        )


def balance(host: Host, currency: str = "INR") -> Decimal:
    with host.app.app_context():
        return partialpay.state().wallets.balance(str(host.customer), currency)


def use_wallet(client: FlaskClient, reference: str = INR_INVOICE) -> None:
    """Tick "Use wallet balance" on the invoice page and apply it (the whole balance)."""
    page = client.get(f"/invoices/{reference}").get_data(as_text=True)
    response = client.post(
        f"/invoices/{reference}",
        data={
            "csrf_token": csrf_from(page),
            "wallet-use_wallet": "y",
            "wallet-amount": "",
            "wallet-apply": "Apply",
        },
    )
    assert response.status_code == 302 and response.location == f"/invoices/{reference}"


def wallet_parts(host: Host, reference: str = INR_INVOICE) -> list[tuple[str, int, str]]:
    """(status, amount, hold status) of each wallet payment of the order."""
    with host.app.app_context():
        return [
            (p.status, p.amount_minor, db.session.get_one(Hold, p.hold_id).status)
            for p in partialpay.orders.payments(reference)
            if p.gateway == "wallet" and p.hold_id is not None
        ]


def test_the_seed_example_wallet_then_card(host: Host) -> None:
    """Wallet ₹100, invoice ₹300: Via wallet −₹100, the card pays ₹200, the ledger says so."""
    add_inr_invoice(host)
    give(host, "100")
    client = host.client_for(host.customer)
    html = client.get(f"/invoices/{INR_INVOICE}").get_data(as_text=True)
    assert "Use wallet balance" in html and "Available balance: ₹100.00" in html
    assert "Via wallet" not in html  # not applied until the customer chooses it
    assert "New total to pay: ₹300.00" in html

    use_wallet(client)
    html = client.get(f"/invoices/{INR_INVOICE}").get_data(as_text=True)
    assert "Total: ₹300.00" in html
    assert "Via wallet: -₹100.00" in html
    assert "New total to pay: ₹200.00" in html

    card_url = start_payment(client, "sandbox_card", INR_INVOICE)
    assert card_url.startswith("/partialpay/card/")
    assert "₹200.00" in client.get(card_url).get_data(as_text=True)
    assert balance(host) == Decimal("0.00")  # held for the invoice, not yet taken
    assert wallet_parts(host) == [("pending", 10000, "active")]
    assert host.account(INR_INVOICE) == ("open", 0, 30000)

    response = pay_by_card(client, card_url, SUCCESS_CARD)
    assert response.status_code == 302 and response.location == f"/invoices/{INR_INVOICE}"
    html = client.get(response.location).get_data(as_text=True)
    assert "Payment received. Thank you!" in html and '<p id="status">Paid</p>' in html
    assert host.invoice(INR_INVOICE).paid
    assert host.account(INR_INVOICE) == ("completed", 30000, 30000)
    assert host.payment(public_id_of(card_url)).amount_minor == 20000
    assert wallet_parts(host) == [("succeeded", 10000, "captured")]
    assert balance(host) == Decimal("0.00")

    with host.app.app_context():
        memo, reference = db.session.execute(
            sa.select(Transfer.memo, Transfer.reference).where(Transfer.reason == "order_payment")
        ).one()
        assert (memo, reference) == ("For order payment #%(reference)s (Partial)", INR_INVOICE)
        wallet = partialpay.state().wallets.wallets_of(str(host.customer))[0]
        assert audit(db.session()) == []
    statement = client.get(f"/partialpay/wallet/{wallet.public_id}").get_data(as_text=True)
    assert f"For order payment #{INR_INVOICE} (Partial)" in statement


def test_the_same_invoice_page_submitted_twice_holds_and_pays_once(host: Host) -> None:
    add_inr_invoice(host)
    give(host, "100")
    client = host.client_for(host.customer)
    use_wallet(client)
    html = client.get(f"/invoices/{INR_INVOICE}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(html),
        "idempotency_key": form_value(html, "idempotency_key"),
        "wallet_part": form_value(html, "wallet_part"),
        "gateway": "sandbox_card",
    }
    first = client.post(f"/invoices/{INR_INVOICE}/pay", data=data)
    second = client.post(f"/invoices/{INR_INVOICE}/pay", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location  # the same card payment
    assert wallet_parts(host) == [("pending", 10000, "active")]
    with host.app.app_context():
        assert len(partialpay.orders.payments(INR_INVOICE)) == 2  # the wallet part, the card
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Hold)) == 1
    assert balance(host) == Decimal("0.00")

    pay_by_card(client, first.location, SUCCESS_CARD)
    assert host.account(INR_INVOICE) == ("completed", 30000, 30000)
    # Pressing Pay on the old page once more after it was paid takes nothing more.
    again = client.post(f"/invoices/{INR_INVOICE}/pay", data=data)
    assert again.status_code == 302
    assert host.account(INR_INVOICE) == ("completed", 30000, 30000)
    assert wallet_parts(host) == [("succeeded", 10000, "captured")]
    with host.app.app_context():
        assert audit(db.session()) == []


def test_a_balance_changed_since_the_page_holds_nothing_and_shows_the_new_total(
    host: Host,
) -> None:
    """The page said ₹200 by card; ₹30 left the wallet since: the card is not asked for ₹230."""
    add_inr_invoice(host)
    give(host, "100")
    client = host.client_for(host.customer)
    use_wallet(client)
    html = client.get(f"/invoices/{INR_INVOICE}").get_data(as_text=True)
    assert "New total to pay: ₹200.00" in html
    with host.app.app_context():
        partialpay.state().wallets.debit(str(host.customer), "30", "INR", reason="adjustment")

    response = client.post(
        f"/invoices/{INR_INVOICE}/pay",
        data={
            "csrf_token": csrf_from(html),
            "idempotency_key": form_value(html, "idempotency_key"),
            "wallet_part": form_value(html, "wallet_part"),
            "gateway": "sandbox_card",
        },
    )
    assert response.status_code == 302 and response.location == f"/invoices/{INR_INVOICE}"
    html = client.get(response.location).get_data(as_text=True)
    assert "Your wallet balance changed while you were checking out." in html
    assert "Via wallet: -₹70.00" in html and "New total to pay: ₹230.00" in html
    assert host.account(INR_INVOICE) is None  # nothing placed, nothing held
    assert balance(host) == Decimal("70.00")
    with host.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Hold)) == 0

    card_url = start_payment(client, "sandbox_card", INR_INVOICE)
    assert "₹230.00" in client.get(card_url).get_data(as_text=True)


def test_a_declined_card_gives_the_wallet_part_back_and_a_new_attempt_applies_it(
    host: Host,
) -> None:
    add_inr_invoice(host)
    give(host, "100")
    client = host.client_for(host.customer)
    use_wallet(client)
    declined = start_payment(client, "sandbox_card", INR_INVOICE)
    response = pay_by_card(client, declined, DECLINED_CARD)
    html = client.get(response.location).get_data(as_text=True)
    assert "Your card was declined." in html and '<p id="status">Unpaid</p>' in html
    assert wallet_parts(host) == [("cancelled", 10000, "released")]
    assert balance(host) == Decimal("100.00")
    assert host.account(INR_INVOICE) == ("open", 0, 30000)
    # The choice is remembered: the page offers the wallet again, on a new key.
    assert "New total to pay: ₹200.00" in html

    card_url = start_payment(client, "sandbox_card", INR_INVOICE)
    assert card_url != declined
    pay_by_card(client, card_url, SUCCESS_CARD)
    assert host.invoice(INR_INVOICE).paid
    assert host.account(INR_INVOICE) == ("completed", 30000, 30000)
    assert wallet_parts(host) == [
        ("cancelled", 10000, "released"),
        ("succeeded", 10000, "captured"),
    ]
    assert balance(host) == Decimal("0.00")
    with host.app.app_context():
        assert audit(db.session()) == []


def test_a_wallet_that_covers_the_invoice_pays_it_without_a_card(host: Host) -> None:
    add_inr_invoice(host)
    give(host, "500")
    client = host.client_for(host.customer)
    use_wallet(client)
    html = client.get(f"/invoices/{INR_INVOICE}").get_data(as_text=True)
    assert "Via wallet: -₹300.00" in html and "New total to pay: ₹0.00" in html
    assert 'name="gateway"' not in html  # nothing left for another method
    response = client.post(
        f"/invoices/{INR_INVOICE}/pay",
        data={
            "csrf_token": csrf_from(html),
            "idempotency_key": form_value(html, "idempotency_key"),
            "wallet_part": form_value(html, "wallet_part"),
        },
    )
    assert response.status_code == 302 and response.location == f"/invoices/{INR_INVOICE}"
    html = client.get(response.location).get_data(as_text=True)
    assert "Invoice paid." in html and '<p id="status">Paid</p>' in html
    assert host.account(INR_INVOICE) == ("completed", 30000, 30000)
    assert wallet_parts(host) == [("succeeded", 30000, "captured")]
    assert balance(host) == Decimal("200.00")
    with host.app.app_context():
        assert audit(db.session()) == []
