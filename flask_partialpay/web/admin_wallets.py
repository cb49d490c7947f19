"""The admin "Wallets" tab: find a customer, read their statement, adjust, lock and unlock.

Every adjustment is a ledger transfer with the admin's id in ``created_by`` and the reason
they typed as its memo, which is what the customer reads on their statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import InsufficientFunds, InvalidAmount, PartialPayError
from flask_partialpay.host.customers import CustomerInfo
from flask_partialpay.host.i18n import format_money, gettext, translate_error
from flask_partialpay.state import current_partialpay
from flask_partialpay.wallet.queries import entry_authors
from flask_partialpay.wallet.statements import ADJUSTMENT, describe, reason_label
from flask_partialpay.web.access import admin_required
from flask_partialpay.web.forms.wallet import LockForm, WalletAdjustmentForm
from flask_partialpay.web.paging import requested_cursor
from flask_partialpay.web.wallet import (
    WalletSummary,
    refuse_without_csrf,
    statement_csv,
    summarise,
    wallet_or_404,
)

# No one types a name or an email longer than this into a search box.
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class CustomerWallets:
    """A customer found by the search, with their wallets."""

    customer: CustomerInfo
    wallets: list[WalletSummary]


def find_customers(query: str) -> list[CustomerInfo]:
    """The host's directory's answer; without a directory, the query is a customer id."""
    directory = current_partialpay.customer_directory
    if directory is None:
        return [CustomerInfo(customer_id=query, name="", email="")]
    found = list(directory.search(query))
    exact = directory.get(query)
    if exact is not None and all(c.customer_id != exact.customer_id for c in found):
        found.insert(0, exact)
    return found


def customer_info(customer_id: str) -> CustomerInfo | None:
    """What the host's directory says of a customer; None if it does not know them."""
    directory = current_partialpay.customer_directory
    if directory is None:
        return CustomerInfo(customer_id=customer_id, name="", email="")
    return directory.get(customer_id)


def summaries_of(customer_id: str) -> list[WalletSummary]:
    wallets = current_partialpay.wallets.wallets_of(customer_id)
    return [summarise(account, per_page=1) for account in wallets]


@admin_required
def wallets_search() -> str:
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    results = (
        [
            CustomerWallets(customer=found, wallets=summaries_of(found.customer_id))
            for found in find_customers(query)
        ]
        if query
        else []
    )
    return render_template(
        "partialpay/admin/wallets.html",
        query=query,
        results=results,
        has_directory=current_partialpay.customer_directory is not None,
    )


@admin_required
def customer_wallets(customer_id: str) -> str:
    return _customer_page(customer_id, None)


def _customer_page(customer_id: str, form: WalletAdjustmentForm | None) -> str:
    """The customer's wallets, the statement of one of them and the adjustment form.

    ``form`` is the adjustment just submitted, with its errors; None for a fresh one.
    """
    state = current_partialpay
    info = customer_info(customer_id)
    accounts = state.wallets.wallets_of(customer_id)
    if info is None and not accounts:
        abort(404)
    currency = form.chosen_currency if form is not None else request.args.get("currency")
    shown = next((a for a in accounts if a.currency == currency), accounts[0] if accounts else None)
    if form is None:
        form = WalletAdjustmentForm(currency=shown.currency if shown else None)
    cursor = requested_cursor()
    summaries = [
        summarise(a, cursor=cursor) if a is shown else summarise(a, per_page=1) for a in accounts
    ]
    current = next((s for s in summaries if s.account is shown), None)
    authors = _authors(current)
    return render_template(
        "partialpay/admin/wallet.html",
        customer_id=customer_id,
        customer=info,
        has_directory=state.customer_directory is not None,
        summaries=summaries,
        wallet=current,
        authors=authors,
        form=form,
        lock_form=LockForm(),
        describe=describe,
        reason_label=reason_label,
    )


def _authors(summary: WalletSummary | None) -> dict[int, str]:
    """Who made each line of the statement page (entry id -> name), where a person did."""
    if summary is None or not summary.statement.lines:
        return {}
    made_by = entry_authors(
        current_partialpay.session, [line.entry_id for line in summary.statement.lines]
    )
    # One look-up in the host's directory per person, not one per line.
    names = {author: display_name(author) for author in set(made_by.values())}
    return {entry_id: names[author] for entry_id, author in made_by.items()}


def display_name(customer_id: str) -> str:
    """A person's name from the host's directory, or their id."""
    info = customer_info(customer_id)
    return info.name if info is not None and info.name else customer_id


@admin_required
def adjust_wallet(customer_id: str) -> str | Response:
    """Credit or debit a customer's wallet, with the reason the customer will read."""
    form = WalletAdjustmentForm()
    valid = form.validate()
    refuse_without_csrf(form)
    if customer_info(customer_id) is None:
        abort(404)
    if not valid or form.amount.amount is None:
        return _customer_page(customer_id, form)
    state = current_partialpay
    amount, currency = form.amount.amount, form.chosen_currency
    move = state.wallets.credit if form.direction.data == "credit" else state.wallets.debit
    try:
        move(
            customer_id,
            amount,
            currency,
            reason=ADJUSTMENT,
            memo=str(form.reason.data),
            created_by=current_user.get_id(),
            idempotency_key=f"wallet-adjust:{form.idempotency_key.data}",
        )
    except (InsufficientFunds, InvalidAmount) as error:
        form.amount.errors.append(translate_error(error))
        return _customer_page(customer_id, form)
    except PartialPayError as error:
        form.form_errors.append(translate_error(error))
        return _customer_page(customer_id, form)
    money = format_money(amount, currency)
    if form.direction.data == "credit":
        flash(gettext("%(amount)s credited to the wallet.", amount=money), "success")
    else:
        flash(gettext("%(amount)s debited from the wallet.", amount=money), "success")
    return redirect(
        url_for("partialpay_admin.customer_wallets", customer_id=customer_id, currency=currency)
    )


@admin_required
def lock_wallet(public_id: str) -> Response:
    return _set_locked(public_id, locked=True)


@admin_required
def unlock_wallet(public_id: str) -> Response:
    return _set_locked(public_id, locked=False)


def _set_locked(public_id: str, *, locked: bool) -> Response:
    account = wallet_or_404(public_id)
    form = LockForm()
    form.validate()
    refuse_without_csrf(form)
    state = current_partialpay
    changed = state.wallets.set_locked(
        account.owner_id, account.currency, locked, by=current_user.get_id()
    )
    if not changed:
        flash(gettext("Nothing changed: the wallet already was as you asked."), "error")
    elif locked:
        flash(
            gettext(
                "The %(currency)s wallet is locked: the customer cannot spend from it.",
                currency=account.currency,
            ),
            "success",
        )
    else:
        flash(gettext("The %(currency)s wallet is unlocked.", currency=account.currency), "success")
    return redirect(
        url_for(
            "partialpay_admin.customer_wallets",
            customer_id=account.owner_id,
            currency=account.currency,
        )
    )


@admin_required
def admin_statement_csv(public_id: str) -> Response:
    return statement_csv(wallet_or_404(public_id))


def add_routes(blueprint: Blueprint) -> None:
    """The Wallets tab, on the admin blueprint."""
    blueprint.get("/wallets")(wallets_search)
    blueprint.get("/wallets/customers/<customer_id>")(customer_wallets)
    blueprint.post("/wallets/customers/<customer_id>/adjust")(adjust_wallet)
    blueprint.post("/wallets/<public_id>/lock")(lock_wallet)
    blueprint.post("/wallets/<public_id>/unlock")(unlock_wallet)
    blueprint.get("/wallets/<public_id>/statement.csv")(admin_statement_csv)
