"""The card page of the ``stripe`` gateway: Stripe's Payment Element on the shop's page.

The shopper stays on the shop's page, with the order and the amount beside the card form;
the card is typed into Stripe's frame and confirmed by Stripe.js, never sent to the shop.
Stripe's webhook, not the browser's return, tells the shop whether the money was taken.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request
from werkzeug.wrappers import Response

from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import gettext
from flask_partialpay.web.reasons import shopper_reason
from flask_partialpay.web.security_headers import widened_policy
from flask_partialpay.web.stripe_saved_cards import (
    saved_card_choices,
    shop_page,
    stripe_payment_or_404,
)

log = logging.getLogger(__name__)

STRIPE_API = "https://api.stripe.com"
# Stripe.js opens 3-D Secure and wallet frames from here when it is Stripe's own.
STRIPE_JS_ORIGIN = "https://js.stripe.com"
STRIPE_FRAMES = "https://hooks.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy() -> str | None:
    """The page's Content-Security-Policy: the shop's, plus Stripe.js and Stripe's API."""
    policy = setting("CONTENT_SECURITY_POLICY")
    if not policy:
        return None
    script = _origin(str(setting("STRIPE_JS_URL")))
    frames = [script, STRIPE_FRAMES] if script == STRIPE_JS_ORIGIN else [script]
    api = _origin(str(setting("STRIPE_API_BASE") or STRIPE_API))
    return widened_policy(
        str(policy), {"script-src": [script], "frame-src": frames, "connect-src": [api]}
    )


def stripe_pay(public_id: str) -> str | Response:
    """The Payment Element for the current shopper's pending Stripe payment."""
    payment, gateway = stripe_payment_or_404(public_id)
    if payment.status != PaymentStatus.PENDING:
        # Paid, failed or replaced meanwhile: say what became of it.
        if payment.status == PaymentStatus.SUCCEEDED:
            flash(gettext("This payment was already made."), "success")
        else:
            flash(shopper_reason(payment), "error")
        return redirect(shop_page(payment))
    try:
        client_secret = gateway.client_secret(payment)
    except Exception:
        log.exception("could not reach Stripe for payment %s", public_id)
        flash(gettext("The card service could not be reached. Try again in a moment."), "error")
        return redirect(shop_page(payment))
    page = render_template(
        "partialpay/stripe_pay.html",
        payment=payment,
        publishable_key=setting("STRIPE_PUBLISHABLE_KEY"),
        client_secret=client_secret,
        return_url=urljoin(request.host_url, shop_page(payment)),
        stripe_js_url=setting("STRIPE_JS_URL"),
        back_url=shop_page(payment),
        **saved_card_choices(payment),
    )
    response = make_response(page)
    policy = _policy()
    if policy is not None:
        # Set here, so the blueprint's after_request keeps it rather than the narrower one.
        response.headers["Content-Security-Policy"] = policy
    # The client secret lets its holder see the payment: never cached, never referred.
    response.headers["Cache-Control"] = "no-store"
    return response


def add_routes(blueprint: Blueprint) -> None:
    """The Stripe card page, on the shopper blueprint."""
    blueprint.get("/stripe/pay/<public_id>")(stripe_pay)
