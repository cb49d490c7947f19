"""The shopper's "My wallet": balances, statement, CSV download and top-ups.

A wallet is addressed by its ``LedgerAccount.public_id``; another customer's wallet is a 404,
exactly like one that does not exist.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, abort, redirect, render_template, stream_with_context, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import (
    AmountNotAllowed,
    InvalidAmount,
    PartialPayError,
    WalletLocked,
)
from flask_partialpay.db.base import utcnow
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.ledger import accounts
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.payments import gateway_calls, lifecycle, saved_cards
from flask_partialpay.state import current_partialpay
from flask_partialpay.wallet import topups
from flask_partialpay.wallet.queries import statement_batches, wallet_by_public_id
from flask_partialpay.wallet.statements import describe, reason_label
from flask_partialpay.wallet.wallets import StatementPage
from flask_partialpay.web.access import login_required_here
from flask_partialpay.web.forms.wallet import TopUpForm, wallet_currencies
from flask_partialpay.web.paging import Cursor, requested_cursor

# Entries on each wallet of the overview; the wallet's own page has the whole statement.
RECENT_LINES = 5
# Entries read from the database at a time while a CSV statement streams out.
CSV_BATCH = 500
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class WalletSummary:
    """One wallet as the pages show it."""

    account: LedgerAccount
    spendable: Decimal
    reserved: Decimal
    statement: StatementPage

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def locked(self) -> bool:
        return self.account.locked


def summarise(
    account: LedgerAccount, *, cursor: Cursor | None = None, per_page: int | None = None
) -> WalletSummary:
    """The wallet with one page of its statement: the newest, or the one ``cursor`` names."""
    cursor = cursor or Cursor()
    wallets = current_partialpay.wallets
    spendable = wallets.balance(account.owner_id, account.currency)
    return WalletSummary(
        account=account,
        spendable=spendable,
        reserved=max(account.balance - spendable, Decimal(0)),
        statement=wallets.statement(
            account.owner_id,
            account.currency,
            before=cursor.before,
            after=cursor.after,
            per_page=per_page,
        ),
    )


def wallet_or_404(public_id: str, owner_id: str | None = None) -> LedgerAccount:
    """The customer wallet with this public id (and this owner, when given), else a 404."""
    account = wallet_by_public_id(current_partialpay.session, public_id)
    if account is None or (owner_id is not None and account.owner_id != owner_id):
        abort(404)
    return account


def own_wallet_or_404(public_id: str) -> LedgerAccount:
    """The wallet, if it belongs to the current customer; anyone else learns nothing."""
    return wallet_or_404(public_id, login_required_here())


def refuse_without_csrf(form: FlaskForm) -> None:
    """A POST without a valid CSRF token is a 400, even where the host has no CSRFProtect."""
    if "csrf_token" in form.errors:
        abort(400)


def can_top_up() -> bool:
    """A top-up needs a gateway to pay it (``PARTIALPAY_TOPUP_GATEWAYS``) and a currency to
    offer (see wallet_currencies)."""
    return bool(topups.allowed_gateways()) and bool(wallet_currencies())


# -- pages ----------------------------------------------------------------------------------


def wallet_overview() -> str | Response:
    """My wallet: the balance in each currency, recent entries and the top-up form."""
    customer_id = login_required_here()
    form = TopUpForm()
    started = _top_up(form, customer_id)
    if started is not None:
        return started
    wallets = current_partialpay.wallets.wallets_of(customer_id)
    return render_template(
        "partialpay/wallet.html",
        summaries=[summarise(account, per_page=RECENT_LINES) for account in wallets],
        wallet=None,
        # The way to "Saved cards", shown once the customer has one to see or remove.
        has_saved_cards=bool(saved_cards.saved_cards(current_partialpay.session, customer_id)),
        form=form,
        can_top_up=can_top_up(),
        limits={code: topups.limits(code) for code in wallet_currencies()},
        describe=describe,
        reason_label=reason_label,
    )


def wallet_detail(public_id: str) -> str | Response:
    """One wallet: its balance, the statement page by page, the CSV and a top-up."""
    account = own_wallet_or_404(public_id)
    form = TopUpForm(currency=account.currency)
    started = _top_up(form, account.owner_id)
    if started is not None:
        return started
    return render_template(
        "partialpay/wallet.html",
        summaries=[],
        wallet=summarise(account, cursor=requested_cursor()),
        form=form,
        can_top_up=can_top_up(),
        limits={code: topups.limits(code) for code in wallet_currencies()},
        describe=describe,
        reason_label=reason_label,
    )


def wallet_statement_csv(public_id: str) -> Response:
    return statement_csv(own_wallet_or_404(public_id))


# -- top-ups ------------------------------------------------------------------------------


def _top_up(form: TopUpForm, customer_id: str) -> Response | None:
    """Start the top-up the form asks for and send the shopper to pay it.

    None when there is nothing to start: the page was only shown, or the form has errors
    (they are on the form, next to their fields).
    """
    if not form.is_submitted():
        return None
    if not can_top_up():
        abort(404)
    valid = form.validate()
    refuse_without_csrf(form)
    if not valid or form.amount.amount is None:
        return None
    # The form checked the name against the allowed gateways.
    gateway = topups.allowed_gateways()[form.gateway.data]
    state = current_partialpay
    amount = form.amount.amount
    currency = form.chosen_currency
    key = f"wallet-topup:{form.idempotency_key.data}"

    def work() -> lifecycle.Started:
        wallet = accounts.wallet(state.session, customer_id, currency)
        if wallet.locked:
            raise WalletLocked()
        return topups.start(
            state.session,
            owner_id=customer_id,
            amount=amount,
            currency=currency,
            gateway=gateway,
            return_url=url_for("partialpay.wallet_detail", public_id=wallet.public_id),
            idempotency_key=key,
        )

    try:
        started = gateway_calls.begin(state, state.transaction(work))
    except (InvalidAmount, AmountNotAllowed) as error:
        form.amount.errors.append(translate_error(error))
        return None
    except WalletLocked as error:
        form.currency.errors.append(translate_error(error))
        return None
    except PartialPayError as error:
        form.form_errors.append(translate_error(error))
        return None
    return redirect(started.redirect_url)


# -- CSV ------------------------------------------------------------------------------------


def statement_csv(account: LedgerAccount) -> Response:
    """Every entry of the wallet, newest first, streamed as CSV in batches.

    Amounts are plain decimals (a minus sign for money out) so a spreadsheet reads them as
    numbers; descriptions are protected against formula injection.
    """
    account_id, currency = account.id, account.currency
    header = [gettext("Date"), gettext("Description"), gettext("Amount"), gettext("Balance")]

    def rows() -> Iterator[str]:
        # The view's contexts were torn down (and its session closed) before the response
        # streams; stream_with_context pushes them again, so the session is fetched here:
        # the one that belongs to them is closed when they are popped after the last row.
        session = current_partialpay.session
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def drain() -> str:
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text

        writer.writerow(header)
        yield drain()
        for batch in statement_batches(session, account_id, currency, batch=CSV_BATCH):
            for line in batch:
                writer.writerow(
                    [
                        line.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        csv_safe(line.description),
                        str(line.amount),
                        str(line.balance_after),
                    ]
                )
            yield drain()

    filename = f"wallet-statement-{currency}-{utcnow():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def add_routes(blueprint: Blueprint) -> None:
    """My wallet: its pages and the CSV statement, on the shopper blueprint."""
    blueprint.route("/wallet", methods=["GET", "POST"])(wallet_overview)
    blueprint.route("/wallet/<public_id>", methods=["GET", "POST"])(wallet_detail)
    blueprint.get("/wallet/<public_id>/statement.csv")(wallet_statement_csv)
