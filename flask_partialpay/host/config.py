"""Every ``PARTIALPAY_*`` setting, its default and what it does, in one place.

The documentation's settings reference is written from :data:`SETTINGS` on every build
(docs/_ext/partialpay_reference.py), so the two cannot drift. Reading a name that is not
here raises :class:`UnknownSetting` with the closest real name, and so does starting an
app whose config holds a misspelled key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from flask import Flask, current_app

from flask_partialpay.core.errors import ConfigurationError, UnknownSetting
from flask_partialpay.core.vocabulary import OverdueAction, Overpayment
from flask_partialpay.db.sqlite_pragmas import JOURNAL_MODES, SYNCHRONOUS_LEVELS

PREFIX = "PARTIALPAY_"

# Scripts, styles and forms from this site only: no inline script or handler, no plugin,
# no <base> pointing elsewhere, and no site may frame the page.
DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Setting:
    default: Any
    doc: str
    #: The values it may take, when they are a fixed set; checked at ``init_app``.
    choices: tuple[Any, ...] | None = None


SETTINGS: Mapping[str, Setting] = {
    "PARTIALPAY_URL_PREFIX": Setting(
        "/partialpay", "Where the extension's shopper pages are mounted."
    ),
    "PARTIALPAY_ADMIN_URL_PREFIX": Setting(
        "/partialpay/admin", "Where the extension's admin pages are mounted."
    ),
    "PARTIALPAY_GATEWAYS": Setting(
        ("manual",),
        "Names of the payment methods offered at checkout, in the order shown: built-in "
        "ones or those the host registered (checked against them by the gateway registry; "
        "the wallet is offered by the extension itself). The sandbox card is offered only "
        'when named here: `("sandbox_card", "manual")` in development.',
    ),
    "PARTIALPAY_MAX_AMOUNT": Setting(
        {"*": "1000000"},
        "Largest amount a person may type, per currency code; `*` is the default for "
        "the others. Amounts are strings in major units.",
    ),
    "PARTIALPAY_DEFAULT_LOCALE": Setting(
        "en", "Locale used to format amounts when the host has no Flask-Babel."
    ),
    "PARTIALPAY_SANDBOX_SECRET": Setting(
        None,
        "Key that signs the sandbox card's callbacks: its own random value, never derived "
        "from `SECRET_KEY`. Required with `sandbox_card` in `PARTIALPAY_GATEWAYS`; in debug "
        "or testing mode a random one is made at start when it is unset.",
    ),
    "PARTIALPAY_CALLBACK_TOLERANCE": Setting(
        300,
        "Seconds a signed gateway callback stays valid after it was signed "
        "(a redelivery is signed anew, so a late event is still accepted).",
    ),
    "PARTIALPAY_MANUAL_INSTRUCTIONS": Setting(
        "Transfer the amount to our bank account and quote the payment reference. "
        "The payment counts once our team has confirmed it.",
        "What the shopper is told to do after choosing bank transfer.",
    ),
    "PARTIALPAY_DB_RETRIES": Setting(
        5,
        "How many times a money movement is retried after a deadlock, serialization "
        "failure or locked SQLite database before the error is raised.",
    ),
    "PARTIALPAY_SQLITE_JOURNAL_MODE": Setting(
        "WAL",
        "SQLite in a file: the journal mode set on each new connection. `WAL`: readers "
        "never wait for the writer and a commit appends to one log. `None` leaves the "
        "database's own (SQLite's default is `DELETE`). Ignored on other databases and "
        "in-memory SQLite.",
        choices=(*JOURNAL_MODES, None),
    ),
    "PARTIALPAY_SQLITE_SYNCHRONOUS": Setting(
        "NORMAL",
        "SQLite in a file: how often each new connection syncs to disk. `NORMAL` (with "
        "WAL): a committed transaction survives the application crashing; an operating "
        "system crash or power cut may lose the last few, never corrupt the file. `FULL` "
        "syncs every commit (durable through a power cut, fewer commits a second). `None` "
        "leaves the database's own (SQLite's default is `FULL`).",
        choices=(*SYNCHRONOUS_LEVELS, None),
    ),
    "PARTIALPAY_ADMIN_PAGE_SIZE": Setting(50, "Rows per page on the admin lists."),
    "PARTIALPAY_HOLD_TTL": Setting(
        1800, "Seconds a wallet hold reserves money before it expires (30 minutes)."
    ),
    "PARTIALPAY_WALLET_CURRENCIES": Setting(
        None,
        "Currencies wallets are spent at checkout and topped up in. `None`: any currency "
        "(top-ups in the currencies the shop's wallets and orders use). A list: only "
        "those; a credit in another is logged as a warning, since checkout never offers it.",
    ),
    "PARTIALPAY_TOPUP_MINIMUM": Setting(
        {"*": "1"}, "Smallest top-up per currency code in major units; `*` for the rest."
    ),
    "PARTIALPAY_TOPUP_MAXIMUM": Setting(
        {"*": "10000"}, "Largest top-up per currency code in major units; `*` for the rest."
    ),
    "PARTIALPAY_TOPUP_GATEWAYS": Setting(
        None,
        "Names of the enabled gateways a wallet top-up may be paid with, in the order "
        "offered. `None`: every gateway in `PARTIALPAY_GATEWAYS` whose processor confirms "
        "the payment itself, so that the wallet is credited when the money arrived, never "
        "on a promise; a bank transfer (`manual`), which a manager confirms by hand, only "
        "when listed. The wallet can never pay for its own top-up and is refused at start. "
        "An empty list: no top-ups.",
    ),
    "PARTIALPAY_STATEMENT_PAGE_SIZE": Setting(20, "Entries per page of a wallet statement."),
    "PARTIALPAY_LINK_SECRET": Setting(
        None,
        "Key that signs Buy and Complete Payment links. Unset: `SECRET_KEY`. Changing it "
        "makes every link sent so far invalid.",
    ),
    "PARTIALPAY_LINK_MAX_AGE": Setting(
        30 * 24 * 3600,
        "Seconds a Buy or Complete Payment link stays valid after it was made (30 days).",
    ),
    "PARTIALPAY_CONTENT_SECURITY_POLICY": Setting(
        DEFAULT_CONTENT_SECURITY_POLICY,
        "Content-Security-Policy sent with the extension's pages (unless the response has "
        "one): scripts, styles and forms of this site only, never framed. Widen it if your "
        "layout loads files from elsewhere; `None` sends none.",
    ),
    "PARTIALPAY_STRIPE_SECRET_KEY": Setting(
        None,
        "The Stripe account's secret API key (`sk_test_...` in test mode, `sk_live_...`). "
        "Required with `stripe` in `PARTIALPAY_GATEWAYS`. Never logged or shown.",
    ),
    "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": Setting(
        None,
        "The Stripe account's publishable key (`pk_...`), which the card page gives to "
        "Stripe.js. Required with `stripe` in `PARTIALPAY_GATEWAYS`.",
    ),
    "PARTIALPAY_STRIPE_WEBHOOK_SECRET": Setting(
        None,
        "The signing secret of the Stripe webhook endpoint (`whsec_...`) that posts to "
        "`<URL_PREFIX>/gateways/stripe/callback`. Required with `stripe` in "
        "`PARTIALPAY_GATEWAYS`. Never logged or shown.",
    ),
    "PARTIALPAY_STRIPE_API_BASE": Setting(
        None,
        "Where the Stripe API is reached. `None`: Stripe itself; a local Stripe-compatible "
        "server for tests (`http://127.0.0.1:8420` for localstripe).",
    ),
    "PARTIALPAY_STRIPE_JS_URL": Setting(
        "https://js.stripe.com/v3/",
        "Stripe.js, which the card page loads; its origin is allowed to run scripts and "
        "frames on that page only.",
    ),
    "PARTIALPAY_STRIPE_API_VERSION": Setting(
        "2026-10-28.endive",
        "The Stripe API version sent with every call, the one the gateway is written for "
        "(its webhook endpoint should use the same).",
    ),
    "PARTIALPAY_STRIPE_WEBHOOK_TOLERANCE": Setting(
        300, "Seconds a Stripe webhook's signature stays valid after it was signed."
    ),
    "PARTIALPAY_OVERPAYMENT": Setting(
        Overpayment.WALLET,
        "What happens to confirmed payments beyond an order's total: `wallet` credits the "
        "excess to the customer's wallet; `refund` reports it with `refund_owed` for an "
        "admin to refund at the gateway.",
        choices=tuple(Overpayment),
    ),
    "PARTIALPAY_SCHEDULER_BATCH_SIZE": Setting(
        50,
        "Rows `flask partialpay run-due` claims and does in one transaction (a batch). "
        "Smaller batches hold their row locks for less time; larger ones commit less often.",
    ),
    "PARTIALPAY_MAIL": Setting(
        False,
        "Send e-mail notifications (needs `flask-partialpay[mail]`, Flask-Mailman, and its "
        "`MAIL_*` settings). Off by default, so a host without a mail server never fails "
        "on one; turned on without Flask-Mailman installed, e-mail stays off and "
        "`init_app` logs an error saying so.",
    ),
    "PARTIALPAY_MAIL_EVENTS": Setting(
        None,
        "Which e-mails are sent, by event name (the table of the e-mail page). `None`: all "
        "of them; a list: only those. An unknown name is refused at start.",
    ),
    "PARTIALPAY_MAIL_SENDER": Setting(
        None,
        "The From address of the e-mails. `None`: Flask-Mailman's `MAIL_DEFAULT_SENDER`.",
    ),
    "PARTIALPAY_MAIL_ADMIN": Setting(
        None,
        "Address, or list of addresses, that receive the shop's own notifications (a bank "
        "transfer awaiting confirmation, an overdue instalment), in "
        "`PARTIALPAY_DEFAULT_LOCALE`. `None`: none are sent.",
    ),
    "PARTIALPAY_LOW_BALANCE": Setting(
        None,
        "A wallet's balance below which its owner is told it runs low, per currency code "
        'in major units, `*` for the others (`{"*": "10"}`). Sent once each time the '
        "balance falls from at least this to below it. `None`: never.",
    ),
    "PARTIALPAY_MAIL_CLAIM_TIMEOUT": Setting(
        300,
        "Seconds after which an e-mail claimed for sending and not recorded as sent (its "
        "sender died) may be claimed and sent again. Keep it above Flask-Mailman's "
        "`MAIL_TIMEOUT`, so a live sender has given up by then.",
    ),
    "PARTIALPAY_MAIL_MAX_ATTEMPTS": Setting(
        10,
        "Deliveries tried for one e-mail before it is marked failed and left alone "
        "(its last error is kept in `partialpay_mail`).",
    ),
    "PARTIALPAY_PLAN_GRACE_DAYS": Setting(
        5,
        "Days after its due date an unpaid instalment of a payment plan stays due before it "
        "is overdue (0: overdue the day after its due date). The Orders list's Overdue "
        "filter, the customer's My payments and the admin's order page use it. No "
        "smaller than the last of `PARTIALPAY_PLAN_RETRY_DAYS`.",
    ),
    "PARTIALPAY_PLAN_RETRY_DAYS": Setting(
        (1, 3, 5),
        "Automatic payments: the days after an instalment's due date on which a failed or "
        "unconfirmed charge of the customer's saved card is tried again (increasing, each "
        "at most `PARTIALPAY_PLAN_GRACE_DAYS`, so the instalment is overdue only after its "
        "last try). `()`: charged once, on the due date.",
    ),
    "PARTIALPAY_PLAN_REMIND_DAYS": Setting(
        3,
        "Days before its due date an instalment of a payment plan is reminded by e-mail "
        "(`instalment_due`) and the `instalment_due_soon` signal, once, by `flask "
        "partialpay run-due`; a run that missed days still reminds, unless the instalment "
        "is overdue by then. 0: no reminders.",
    ),
    "PARTIALPAY_PLAN_OVERDUE_ACTION": Setting(
        OverdueAction.NOTHING,
        "What `flask partialpay run-due` does, once, when an instalment has been overdue "
        "for `PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS` and its order is still Open: `nothing`; "
        "`notify_admin` e-mails `PARTIALPAY_MAIL_ADMIN`; `decline` declines the order as "
        "an admin's Decline does; `decline_and_credit` declines it and refunds what other "
        "gateways took to the customer's wallet instead of leaving it to refund.",
        choices=tuple(OverdueAction),
    ),
    "PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS": Setting(
        14,
        "Days after an instalment was found overdue that `PARTIALPAY_PLAN_OVERDUE_ACTION` "
        "is taken (0: in the same run).",
    ),
}


def _suggestion(name: str) -> str:
    close = difflib.get_close_matches(name, SETTINGS, n=1, cutoff=0.8)
    return f"; did you mean {close[0]}?" if close else ""


def unknown_setting(name: str) -> UnknownSetting:
    return UnknownSetting(
        f"{name} is not a flask-partialpay setting{_suggestion(name)} "
        "The settings are listed in flask_partialpay/host/config.py and the documentation."
    )


def apply_defaults(app: Flask) -> None:
    """Fill in every default, refuse misspelled ``PARTIALPAY_*`` keys in the app config, and
    refuse a value outside a setting's fixed set of values."""
    for name in app.config:
        if name.startswith(PREFIX) and name not in SETTINGS:
            raise unknown_setting(name)
    for name, setting in SETTINGS.items():
        app.config.setdefault(name, setting.default)
        check_choice(name, app.config[name])


def _allowed(choices: tuple[Any, ...]) -> str:
    # A StrEnum member is named by the string a host writes in its config.
    return ", ".join(
        repr(choice.value if isinstance(choice, Enum) else choice) for choice in choices
    )


def check_choice(name: str, value: Any) -> None:
    """Raise :class:`ConfigurationError` naming the allowed values when ``value`` is not one.

    A misspelt value would otherwise quietly behave as another (``"refunds"`` as
    ``"wallet"``), so it stops the app at ``init_app`` instead.
    """
    setting = SETTINGS[name]
    if setting.choices is None:
        return
    if value not in setting.choices:
        raise ConfigurationError(
            f"{name} is {value!r}; it must be one of {_allowed(setting.choices)}."
        )


def setting(name: str, app: Flask | None = None) -> Any:
    """The value of setting ``name`` (with or without the ``PARTIALPAY_`` prefix)."""
    key = name if name.startswith(PREFIX) else PREFIX + name
    if key not in SETTINGS:
        raise unknown_setting(key)
    config = (app or current_app).config
    return config.get(key, SETTINGS[key].default)
