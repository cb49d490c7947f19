"""My wallet and the admin Wallets tab, driven over HTTP: top-ups, statement, CSV, guards."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop.models import User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.extension import PartialPay
from flask_partialpay.ledger.models import LedgerAccount, Transfer
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.models import SandboxCharge
from tests.conftest import Shopper, csrf_from, form_value

WALLET = "/partialpay/wallet"
ADMIN_WALLETS = "/partialpay/admin/wallets"
CALLBACK_URL = "/partialpay/gateways/sandbox_card/callback"
SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


# -- helpers ------------------------------------------------------------------------------


def user_id(email: str) -> str:
    user = db.session.scalars(sa.select(User).where(User.email == email)).one()
    return str(user.get_id())


def asha() -> str:
    return user_id("asha@example.com")


def balance(owner: str, currency: str = "INR") -> Decimal:
    return PartialPay.state().wallets.balance(owner, currency)


def wallet_of(owner: str, currency: str = "INR") -> LedgerAccount:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(LedgerAccount).where(
            LedgerAccount.kind == "wallet",
            LedgerAccount.owner_id == owner,
            LedgerAccount.currency == currency,
        )
    ).one()


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_error(page: str, field: str) -> str:
    """The message shown next to a field (tied to it by aria-describedby)."""
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    assert match, f"no error next to {field}"
    assert re.search(rf'aria-describedby="[^"]*{field}-error', page)
    return match.group(1)


def balance_shown(page: str) -> list[str]:
    return re.findall(r'class="pp-balance-amount">([^<]*)<', page)


def submit_topup(shopper: Shopper, amount: str, currency: str = "INR", page: str = WALLET) -> Any:
    form = shopper.get(page).get_data(as_text=True)
    return shopper.client.post(
        page,
        data={
            "csrf_token": csrf_from(form),
            "idempotency_key": form_value(form, "idempotency_key"),
            "amount": amount,
            "currency": currency,
        },
    )


def top_up(shopper: Shopper, amount: str, card: str = SUCCESS_CARD) -> Any:
    """Fill in the top-up form and pay on the card page; the card page's response."""
    started = submit_topup(shopper, amount)
    assert started.status_code == 302, text(started)
    assert started.location.startswith("/partialpay/card/")
    return shopper.pay_card(started.location, card)


def customer_page(owner: str) -> str:
    return f"{ADMIN_WALLETS}/customers/{owner}"


def adjust(
    admin: Shopper, owner: str, direction: str, amount: str, reason: str, currency: str = "INR"
) -> Any:
    form = admin.get(customer_page(owner)).get_data(as_text=True)
    return admin.client.post(
        customer_page(owner) + "/adjust",
        data={
            "csrf_token": csrf_from(form),
            "idempotency_key": form_value(form, "idempotency_key"),
            "direction": direction,
            "amount": amount,
            "currency": currency,
            "reason": reason,
        },
    )


def set_lock(admin: Shopper, owner: str, action: str) -> Any:
    wallet = wallet_of(owner)
    return admin.post_form(customer_page(owner), f"{ADMIN_WALLETS}/{wallet.public_id}/{action}", {})


# CSV statements stream: fetch them with ``buffered=True`` so the body is read inside the
# request's own context, as a WSGI server does (IsolatedClient runs each request alone).


def read_csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# -- top-ups ------------------------------------------------------------------------------


def test_a_card_topup_shows_on_my_wallet_and_a_repeated_callback_credits_once(
    app: Flask, shopper: Shopper
) -> None:
    paid = top_up(shopper, "100")
    assert paid.status_code == 302
    wallet_page = paid.location
    assert wallet_page == f"{WALLET}/{wallet_of(asha()).public_id}"
    page = text(shopper.get(wallet_page))
    assert "Payment received" in page
    assert balance_shown(page) == ["₹100.00"]
    assert "Wallet top-up" in page and "+₹100.00" in page
    overview = text(shopper.get(WALLET))
    assert balance_shown(overview) == ["₹100.00"]
    assert "Wallet top-up" in overview

    charge = db.session.scalars(sa.select(SandboxCharge)).one()
    body, headers = processor.encode(processor.charge_event(charge))
    again = app.test_client().post(CALLBACK_URL, data=body, headers=headers)
    assert (again.status_code, again.get_data(as_text=True)) == (200, "duplicate")
    assert balance(asha()) == Decimal("100.00")
    assert count(Transfer, Transfer.reason == "topup") == 1
    assert balance_shown(text(shopper.get(wallet_page))) == ["₹100.00"]


def test_a_declined_card_credits_nothing(shopper: Shopper) -> None:
    paid = top_up(shopper, "100", DECLINED_CARD)
    page = text(shopper.get(paid.location))
    assert "The payment did not go through: Your card was declined." in page
    assert balance_shown(page) == ["₹0.00"]
    assert "Nothing has moved in this wallet yet." in page
    assert balance(asha()) == Decimal("0.00")
    assert count(Transfer) == 0
    assert db.session.scalars(sa.select(Payment)).one().status == "failed"


def test_submitting_the_topup_form_twice_starts_one_payment(shopper: Shopper) -> None:
    form = shopper.get(WALLET).get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(form),
        "idempotency_key": form_value(form, "idempotency_key"),
        "amount": "250",
        "currency": "INR",
    }
    first = shopper.client.post(WALLET, data=data)
    second = shopper.client.post(WALLET, data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert count(Payment) == 1 and count(OrderRecord) == 1


def test_a_topup_can_start_from_a_wallets_own_page(shopper: Shopper) -> None:
    top_up(shopper, "10")
    own_page = f"{WALLET}/{wallet_of(asha()).public_id}"
    started = submit_topup(shopper, "5", page=own_page)
    assert started.status_code == 302
    shopper.pay_card(started.location, SUCCESS_CARD)
    assert balance(asha()) == Decimal("15.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        pytest.param("0.50", "Enter an amount from ₹1.00 to ₹10,000.00.", id="below-minimum"),
        pytest.param("10000.01", "Enter an amount from ₹1.00 to ₹10,000.00.", id="above-maximum"),
        pytest.param(
            "1e3", "Write the amount in full, without an exponent (1000, not 1e3).", id="exponent"
        ),
        pytest.param("NaN", "“NaN” is not a number.", id="nan"),
        pytest.param("-5", "Enter the amount without a + or - sign.", id="negative"),
        pytest.param("10.005", "Use at most 2 decimal places for INR.", id="decimals"),
        pytest.param("", "Enter an amount.", id="empty"),
    ],
)
def test_a_bad_topup_amount_is_explained_next_to_the_field(
    shopper: Shopper, amount: str, message: str
) -> None:
    response = submit_topup(shopper, amount)
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "amount") == message
    assert f'value="{amount}"' in response.get_data(as_text=True)  # what was typed stays
    assert count(Payment) == 0 and count(OrderRecord) == 0 and count(LedgerAccount) == 0


def test_a_topup_in_a_currency_not_offered_is_refused(shopper: Shopper) -> None:
    page = text(submit_topup(shopper, "10", currency="EUR"))
    assert field_error(page, "currency") == "Choose one of the currencies offered."
    assert count(Payment) == 0


def test_the_limits_follow_the_currency(app: Flask, shopper: Shopper) -> None:
    app.config["PARTIALPAY_TOPUP_MINIMUM"] = {"USD": "5", "*": "1"}
    page = text(submit_topup(shopper, "4.99", currency="USD"))
    assert field_error(page, "amount") == "Enter an amount from $5.00 to $10,000.00."
    assert "USD: from $5.00 to $10,000.00." in page
    assert count(Payment) == 0


# -- admin ----------------------------------------------------------------------------------


def test_the_admin_finds_a_customer_by_email_or_name(admin: Shopper) -> None:
    owner = asha()
    for query in ("ASHA@example", "rao", owner):
        page = admin.get(f"{ADMIN_WALLETS}?q={query}").get_data(as_text=True)
        assert f'href="{customer_page(owner)}"' in page, query
        assert "Asha Rao" in page and "asha@example.com" in page
    page = text(admin.get(f"{ADMIN_WALLETS}?q=nobody-by-that-name"))
    assert "No customer matches “nobody-by-that-name”." in page
    assert "Asha Rao" not in page


def test_without_a_directory_the_search_takes_a_customer_id(app: Flask, admin: Shopper) -> None:
    app.extensions["partialpay"].customer_directory = None
    owner = asha()
    page = admin.get(f"{ADMIN_WALLETS}?q={owner}").get_data(as_text=True)
    assert f'href="{customer_page(owner)}"' in page
    assert admin.get(customer_page(owner)).status_code == 200


def test_an_unknown_customer_is_not_found(admin: Shopper) -> None:
    assert admin.get(customer_page("999999")).status_code == 404


def test_the_admin_credits_and_debits_with_a_reason(admin: Shopper) -> None:
    owner, admin_id = asha(), user_id("admin@example.com")
    refused = adjust(admin, owner, "credit", "50", "   ")
    assert refused.status_code == 200
    assert field_error(text(refused), "reason") == "Enter the reason for this adjustment."
    assert count(Transfer) == 0

    credited = adjust(admin, owner, "credit", "50", "Goodwill for the late delivery")
    assert credited.status_code == 302
    assert "₹50.00 credited to the wallet." in text(admin.get(credited.location))
    debited = adjust(admin, owner, "debit", "20", "Charged twice by mistake")
    assert debited.status_code == 302
    assert balance(owner) == Decimal("30.00")

    page = text(admin.get(customer_page(owner) + "?currency=INR"))
    assert "₹30.00" in page
    assert "Goodwill for the late delivery" in page and "Charged twice by mistake" in page
    assert "+₹50.00" in page and "-₹20.00" in page
    assert page.count("Shop Admin") >= 2  # who made each adjustment
    transfers = list(
        db.session.scalars(
            sa.select(Transfer).where(Transfer.reason == "adjustment").order_by(Transfer.id)
        )
    )
    assert [(t.amount_minor, t.created_by, t.memo) for t in transfers] == [
        (5000, admin_id, "Goodwill for the late delivery"),
        (2000, admin_id, "Charged twice by mistake"),
    ]


def test_an_adjustment_needs_a_direction(admin: Shopper) -> None:
    page = text(adjust(admin, asha(), "", "50", "Goodwill"))
    assert field_error(page, "direction") == "Choose whether to credit or debit the wallet."
    assert count(Transfer) == 0


def test_a_bad_adjustment_amount_is_explained_next_to_the_field(admin: Shopper) -> None:
    page = text(adjust(admin, asha(), "credit", "1e3", "Goodwill"))
    assert field_error(page, "amount") == (
        "Write the amount in full, without an exponent (1000, not 1e3)."
    )
    assert count(Transfer) == 0


def test_debiting_more_than_the_balance_changes_nothing(admin: Shopper) -> None:
    owner = asha()
    adjust(admin, owner, "credit", "30", "Goodwill")
    response = adjust(admin, owner, "debit", "100", "Too much")
    assert response.status_code == 200
    assert field_error(text(response), "amount") == (
        "The wallet holds ₹30.00; ₹100.00 is more than that."
    )
    assert balance(owner) == Decimal("30.00")
    assert count(Transfer) == 1


def test_a_locked_wallet_refuses_debits_and_top_ups_until_unlocked(
    admin: Shopper, shopper: Shopper
) -> None:
    owner, admin_id = asha(), user_id("admin@example.com")
    adjust(admin, owner, "credit", "40", "Welcome credit")
    locked = set_lock(admin, owner, "lock")
    assert locked.status_code == 302
    assert "The INR wallet is locked" in text(admin.get(locked.location))
    wallet = wallet_of(owner)
    assert (wallet.locked, wallet.locked_by) == (True, admin_id)

    refused = text(adjust(admin, owner, "debit", "10", "Fee"))
    assert "This wallet is locked. Contact the shop to unlock it." in refused
    assert balance(owner) == Decimal("40.00") and count(Transfer) == 1

    mine = text(shopper.get(f"{WALLET}/{wallet.public_id}"))
    assert "Locked" in mine and "This wallet is locked." in mine
    assert "Top up this wallet" not in mine
    overview = text(shopper.get(WALLET))
    assert "pp-badge-locked" in overview
    topup = text(submit_topup(shopper, "10"))
    assert field_error(topup, "currency") == "This wallet is locked. Contact the shop to unlock it."
    assert count(Payment) == 0

    again = set_lock(admin, owner, "lock")
    assert "Nothing changed" in text(admin.get(again.location))
    set_lock(admin, owner, "unlock")
    assert wallet_of(owner).locked is False
    assert adjust(admin, owner, "debit", "10", "Fee").status_code == 302
    assert balance(owner) == Decimal("30.00")
    assert "pp-badge-active" in shopper.get(WALLET).get_data(as_text=True)


# -- statement ------------------------------------------------------------------------------


def test_the_csv_statement_has_every_entry_and_no_formulas(
    app: Flask, admin: Shopper, shopper: Shopper
) -> None:
    owner = asha()
    adjust(admin, owner, "credit", "50", '=HYPERLINK("http://evil.example","Click")')
    adjust(admin, owner, "debit", "20.5", "-2+3")
    app.extensions["partialpay"].wallets.credit(
        owner, "1", "INR", reason="promotion", memo="@SUM(A1:A9)"
    )
    wallet = wallet_of(owner)
    response = shopper.get(f"{WALLET}/{wallet.public_id}/statement.csv", buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "INR" in disposition
    rows = read_csv(response)
    assert rows[0] == ["Date", "Description", "Amount", "Balance"]
    assert [row[1:] for row in rows[1:]] == [
        ["'@SUM(A1:A9)", "1.00", "30.50"],
        ["'-2+3", "-20.50", "29.50"],
        ['\'=HYPERLINK("http://evil.example","Click")', "50.00", "50.00"],
    ]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", row[0]) for row in rows[1:])
    assert "₹" not in response.get_data(as_text=True)
    # The admin downloads the same statement.
    from_admin = admin.get(f"{ADMIN_WALLETS}/{wallet.public_id}/statement.csv", buffered=True)
    assert read_csv(from_admin) == rows


def test_the_csv_streams_every_entry_past_one_batch(
    app: Flask, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask_partialpay.web import wallet as wallet_views

    monkeypatch.setattr(wallet_views, "CSV_BATCH", 4)
    wallets = app.extensions["partialpay"].wallets
    owner = asha()
    for number in range(1, 11):
        wallets.credit(owner, str(number), "INR", reason="promotion", memo=f"Cashback {number}")
    response = shopper.get(f"{WALLET}/{wallet_of(owner).public_id}/statement.csv", buffered=True)
    rows = read_csv(response)
    assert [row[1] for row in rows[1:]] == [f"Cashback {n}" for n in range(10, 0, -1)]
    assert rows[1][3] == "55.00"


def page_link(page: str, label: str) -> str | None:
    """Where the pager's ``label`` link goes; None when the page has none."""
    found = re.search(r'<a href="([^"]+)"[^>]*>' + label + "</a>", page)
    return found.group(1) if found else None


def test_the_statement_is_paginated_newest_first(app: Flask, shopper: Shopper) -> None:
    wallets = app.extensions["partialpay"].wallets
    owner = asha()
    for number in range(1, 26):
        wallets.credit(owner, "1", "INR", reason="promotion", memo=f"Cashback {number:02d}")
    url = f"{WALLET}/{wallet_of(owner).public_id}"
    first = text(shopper.get(url))
    assert "Cashback 25" in first and "Cashback 06" in first and "Cashback 05" not in first
    assert page_link(first, "Newer") is None and page_link(first, "Newest") is None
    older = page_link(first, "Older")
    assert older is not None and older.startswith(f"{url}?before=")
    second = text(shopper.get(older))
    assert "Cashback 05" in second and "Cashback 01" in second and "Cashback 06" not in second
    assert page_link(second, "Older") is None and page_link(second, "Newest") == url
    assert balance_shown(second) == ["₹25.00"]
    newer = page_link(second, "Newer")
    assert newer is not None and newer.startswith(f"{url}?after=")
    # "Newer" from the oldest page is the 20 lines above it: 06 to 25.
    back = text(shopper.get(newer))
    assert "Cashback 25" in back and "Cashback 06" in back and "Cashback 05" not in back
    overview = text(shopper.get(WALLET))
    assert "Cashback 25" in overview and "Cashback 20" not in overview  # recent only


# -- who may see what -----------------------------------------------------------------------


def test_another_shoppers_wallet_is_not_found(app: Flask, other_shopper: Shopper) -> None:
    owner = asha()
    app.extensions["partialpay"].wallets.credit(owner, "10", "INR", reason="promotion")
    url = f"{WALLET}/{wallet_of(owner).public_id}"
    assert other_shopper.get(url).status_code == 404
    assert other_shopper.get(url + "/statement.csv").status_code == 404
    token = csrf_from(other_shopper.get(WALLET).get_data(as_text=True))
    posted = other_shopper.client.post(
        url, data={"csrf_token": token, "amount": "10", "currency": "INR"}
    )
    assert posted.status_code == 404
    assert "₹10.00" not in text(other_shopper.get(WALLET))
    system = db.session.scalars(sa.select(LedgerAccount).where(LedgerAccount.kind != "wallet"))
    assert other_shopper.get(f"{WALLET}/{system.first().public_id}").status_code == 404  # type: ignore[union-attr]
    assert other_shopper.get(f"{WALLET}/no-such-wallet").status_code == 404
    assert count(Payment) == 0


def test_the_admin_wallet_pages_are_forbidden_to_shoppers(app: Flask, shopper: Shopper) -> None:
    owner = asha()
    app.extensions["partialpay"].wallets.credit(owner, "10", "INR", reason="promotion")
    wallet = wallet_of(owner)
    for url in (
        f"{ADMIN_WALLETS}?q=asha",
        customer_page(owner),
        f"{ADMIN_WALLETS}/{wallet.public_id}/statement.csv",
    ):
        assert shopper.get(url).status_code == 403, url
    token = csrf_from(shopper.get(WALLET).get_data(as_text=True))
    for url, data in (
        (customer_page(owner) + "/adjust", {"direction": "credit", "amount": "5", "reason": "x"}),
        (f"{ADMIN_WALLETS}/{wallet.public_id}/lock", {}),
    ):
        response = shopper.client.post(url, data={"csrf_token": token, "currency": "INR", **data})
        assert response.status_code == 403, url
    assert balance(owner) == Decimal("10.00") and wallet_of(owner).locked is False


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask) -> None:
    visitor = app.test_client()
    for url in (WALLET, f"{ADMIN_WALLETS}?q=asha", customer_page("1")):
        response = visitor.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/login"), url


def test_every_wallet_post_needs_its_csrf_token(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    owner = asha()
    app.extensions["partialpay"].wallets.credit(owner, "10", "INR", reason="promotion")
    wallet = wallet_of(owner)
    key = "k" * 32
    refused = [
        shopper.client.post(
            WALLET, data={"amount": "100", "currency": "INR", "idempotency_key": key}
        ),
        shopper.client.post(
            f"{WALLET}/{wallet.public_id}",
            data={"amount": "100", "currency": "INR", "idempotency_key": key},
        ),
        admin.client.post(
            customer_page(owner) + "/adjust",
            data={
                "direction": "credit",
                "amount": "5",
                "currency": "INR",
                "reason": "Goodwill",
                "idempotency_key": key,
            },
        ),
        admin.client.post(f"{ADMIN_WALLETS}/{wallet.public_id}/lock"),
    ]
    assert [response.status_code for response in refused] == [400, 400, 400, 400]
    set_lock(admin, owner, "lock")
    assert admin.client.post(f"{ADMIN_WALLETS}/{wallet.public_id}/unlock").status_code == 400
    assert count(Payment) == 0 and count(Transfer) == 1
    assert balance(owner) == Decimal("10.00") and wallet_of(owner).locked is True
