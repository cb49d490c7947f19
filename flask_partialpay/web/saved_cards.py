"""The shopper's "Saved cards": the cards they agreed to keep, each with a Remove button.

A page of its own, linked from My wallet, rather than a section of My wallet: a saved card
is a way to pay, in any currency, not a balance of one wallet, and a host can link to it
from its own account menu. A card is addressed by its public id; another customer's card
is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import PaymentError, UnknownGateway
from flask_partialpay.host.i18n import gettext
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.card_labels import card_expiry, card_label
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import login_required_here
from flask_partialpay.web.forms.common import CsrfForm
from flask_partialpay.web.wallet import refuse_without_csrf

log = logging.getLogger(__name__)


def own_saved_card_or_404(public_id: str) -> SavedCard:
    """The current customer's saved card; another's, or a removed one, is a 404."""
    card = saved_cards.saved_card(current_partialpay.session, login_required_here(), public_id)
    if card is None:
        abort(404)
    return card


def saved_cards_page() -> str:
    customer_id = login_required_here()
    return render_template(
        "partialpay/saved_cards.html",
        cards=saved_cards.saved_cards(current_partialpay.session, customer_id),
        form=CsrfForm(),
        card_label=card_label,
        card_expiry=card_expiry,
    )


def remove_saved_card(card_id: str) -> Response:
    """Forget the card: the shop never offers or charges it again, then the processor
    forgets it too.

    Marked removed first, in the shop's own transaction: from then on no payment of the
    shop can use it, whatever the processor answers. The processor is asked afterwards,
    outside any transaction; if it fails (down, or it no longer knows the card) the card
    stays removed here and the failure is logged for a person, because what the shopper
    asked for, that the shop never charges this card again, is already true.
    """
    card = own_saved_card_or_404(card_id)
    form = CsrfForm()
    if not form.validate_on_submit():
        refuse_without_csrf(form)
        abort(400)
    state = current_partialpay
    state.transaction(lambda: saved_cards.remove_card(state.session, card))
    label = card_label(card)
    _forget_at_processor(card)
    flash(gettext("%(card)s was removed from your saved cards.", card=label), "success")
    return redirect(url_for("partialpay.saved_cards_page"))


def _forget_at_processor(card: SavedCard) -> None:
    try:
        gateway = current_partialpay.gateway(card.gateway)
    except UnknownGateway:
        return  # the gateway was switched off: nothing of the shop can charge the card
    forget = getattr(gateway, "forget_saved_card", None)
    if forget is None:
        return
    try:
        forget(card)
    except PaymentError as error:
        log.warning(
            "saved card %s was removed, but %s did not forget payment method %s: %s",
            card.public_id,
            card.gateway,
            card.payment_method,
            error,
        )


def add_routes(blueprint: Blueprint) -> None:
    """Saved cards and their removal, on the shopper blueprint."""
    blueprint.get("/saved-cards")(saved_cards_page)
    blueprint.post("/saved-cards/<card_id>/remove")(remove_saved_card)
