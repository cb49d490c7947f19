"""The "Use wallet balance" form on the host's checkout page, and reading its submission.

The choice itself is kept by ``partialpay.checkout.choose``, which reads no request; this
is the web side of it, for a host that renders the extension's form
(``partialpay/_wallet_choice.html``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from flask_partialpay.state import current_partialpay
from flask_partialpay.wallet.checkout import CartSummary, WalletChoice, WalletOffer
from flask_partialpay.web.forms.wallet import WalletChoiceForm


@dataclass(frozen=True)
class WalletChoiceView:
    """The wallet choice for one checkout page: the offer, its form, and whether it was saved."""

    offer: WalletOffer
    form: WalletChoiceForm
    saved: bool


def wallet_choice(cart: CartSummary, formdata: Mapping[str, Any] | None) -> WalletChoiceView:
    """The "Use wallet balance" form for ``cart``, and its submission when there is one.

    Call it in the view that shows the cart, for GET and POST, with the submitted form
    data (``request.form`` on a POST, None otherwise). When that is the form's submission
    and it is valid, the choice is saved and ``saved`` is True: the host redirects back to
    the page. When it is not valid, the form carries its errors (shown next to its fields)
    and nothing changed. Render it with ``{% include "partialpay/_wallet_choice.html" %}``
    (the variable ``wallet``).

    Included inside the host's checkout form (``{% set wallet_in_checkout_form = true
    %}`` first), the choice is also submitted by the checkout button: call this in the
    checkout view too, before placing the order, so that what the form showed when it
    was submitted (ticked or not, and the amount) is what is applied, "Apply" pressed
    or not. ``saved`` then says the submitted choice was stored; compare the "Via
    wallet" amount now with the one the shopper was shown before charging anything.
    """
    service = current_partialpay.checkout
    offer = service.wallet_offer(cart)
    posted = None if formdata is None else _multidict(formdata)
    form = WalletChoiceForm(
        formdata=posted, prefix="wallet", currency=cart.currency, maximum=offer.maximum
    )
    submitted = posted is not None and (form.apply.name in posted or form.shown.name in posted)
    if not submitted:
        form = WalletChoiceForm(
            formdata=None,
            prefix="wallet",
            currency=cart.currency,
            maximum=offer.maximum,
            data={
                "use_wallet": offer.applied > 0,
                "amount": "" if offer.chosen_amount is None else str(offer.chosen_amount),
            },
        )
        return WalletChoiceView(offer=offer, form=form, saved=False)
    if not (offer.eligible and offer.changeable) or not form.validate():
        return WalletChoiceView(offer=offer, form=form, saved=False)
    chosen = WalletChoice(use=bool(form.use_wallet.data), amount=form.amount.amount)
    return WalletChoiceView(offer=service.choose(cart, chosen), form=form, saved=True)


def _multidict(formdata: Mapping[str, Any]) -> MultiDict[str, Any]:
    """WTForms reads a multidict (``request.form`` is one); a plain dict is wrapped."""
    return formdata if isinstance(formdata, MultiDict) else MultiDict(formdata)
