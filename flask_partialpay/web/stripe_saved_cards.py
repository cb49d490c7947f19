"""Saved cards on the Stripe card page: the consent box and the one-click buttons.

The consent ("Save this card for my next payments", unticked unless the shopper ticks it)
is sent by the card page's script just before Stripe.js confirms the payment; the card is
saved only once the payment succeeded (see
:meth:`flask_partialpay.stripe_gateway.saved_cards.StripeSavedCards.after_event`). A
shopper with saved cards gets a "Pay with Visa •••• 4242" button per card, which charges
that card for the payment and sends them back to the shop; Stripe's webhook, as for any
card payment, says whether the money was taken.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import PaymentError, UnknownGateway
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.db.base import utcnow
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.host.redirects import safe_local_path
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.card_labels import card_label
from flask_partialpay.payments.models import Payment
from flask_partialpay.state import current_partialpay
from flask_partialpay.stripe_gateway import NAME
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from flask_partialpay.web.access import own_payment_or_404
from flask_partialpay.web.forms.saved_cards import PayWithSavedCardForm, SaveCardForm
from flask_partialpay.web.saved_cards import own_saved_card_or_404
from flask_partialpay.web.wallet import refuse_without_csrf

log = logging.getLogger(__name__)


def saved_card_choices(payment: Payment) -> dict[str, Any]:
    """What the card page shows of saved cards: the consent box and one button per card."""
    return {
        "save_form": SaveCardForm(),
        # An expired card would only be declined: it stays on "Saved cards" to be removed.
        "saved_cards": [
            card
            for card in saved_cards.saved_cards(
                current_partialpay.session, payment.customer_id, gateway=NAME
            )
            if not card.expired(utcnow().date())
        ],
        "pay_form": PayWithSavedCardForm(),
        "card_label": card_label,
    }


def stripe_payment_or_404(public_id: str) -> tuple[Payment, StripeGateway]:
    """The current shopper's Stripe payment and the gateway; anything else is a 404."""
    payment = own_payment_or_404(public_id)
    if payment.gateway != NAME:
        abort(404)
    try:
        gateway = current_partialpay.gateway(NAME)
    except UnknownGateway:
        abort(404)
    assert isinstance(gateway, StripeGateway)
    return payment, gateway


def shop_page(payment: Payment) -> str:
    """The shop's page the payment returns to (a local path, never another site)."""
    return safe_local_path(payment.return_url) or "/"


def stripe_save_card(public_id: str) -> tuple[Response, int]:
    """The card page's consent, sent before Stripe.js confirms (JSON for its script)."""
    payment, gateway = stripe_payment_or_404(public_id)
    form = SaveCardForm()
    if not form.validate_on_submit():
        refuse_without_csrf(form)
        abort(400)
    if payment.status != PaymentStatus.PENDING:
        return jsonify(error=gettext("This payment is no longer waiting to be paid.")), 409
    try:
        gateway.consent_to_save(payment, save=bool(form.save.data))
    except PaymentError as error:
        return jsonify(error=translate_error(error)), 409
    except Exception:
        log.exception("could not record the saved-card consent of payment %s", public_id)
        return jsonify(
            error=gettext("The card service could not be reached. Try again in a moment.")
        ), 502
    return jsonify(saved=bool(form.save.data)), 200


def stripe_pay_saved_card(public_id: str, card_id: str) -> str | Response:
    """Pay ``public_id`` with the saved card ``card_id`` in one click."""
    payment, gateway = stripe_payment_or_404(public_id)
    card = own_saved_card_or_404(card_id)
    if card.gateway != NAME:
        abort(404)
    form = PayWithSavedCardForm()
    pay_page = url_for("partialpay.stripe_pay", public_id=public_id)
    if not form.validate_on_submit():
        refuse_without_csrf(form)
        flash(" ".join(str(message) for message in form.idempotency_key.errors), "error")
        return redirect(pay_page)
    if payment.status != PaymentStatus.PENDING:
        return redirect(pay_page)  # the card page says what became of it
    label = card_label(card)
    try:
        bank_page = gateway.pay_with_saved_card(
            payment,
            card,
            return_url=urljoin(request.host_url, shop_page(payment)),
            attempt_key=str(form.idempotency_key.data),
        )
    except PaymentError as error:
        flash(translate_error(error), "error")
        return redirect(pay_page)
    except Exception:
        log.exception("could not charge a saved card for payment %s", public_id)
        flash(gettext("The card service could not be reached. Try again in a moment."), "error")
        return redirect(pay_page)
    if bank_page is not None:
        # A page of the shop with a link, not a redirect: the card page's policy lets forms
        # go to the shop only, and the bank's page is elsewhere.
        return render_template(
            "partialpay/stripe_bank_check.html", payment=payment, bank_page=bank_page
        )
    flash(
        gettext(
            "Your payment with %(card)s was sent. The shop confirms it as soon as the bank "
            "answers.",
            card=label,
        ),
        "success",
    )
    return redirect(shop_page(payment))


def add_routes(blueprint: Blueprint) -> None:
    """The consent and the one-click payment, on the shopper blueprint."""
    blueprint.post("/stripe/pay/<public_id>/save-card")(stripe_save_card)
    blueprint.post("/stripe/pay/<public_id>/saved-cards/<card_id>")(stripe_pay_saved_card)
