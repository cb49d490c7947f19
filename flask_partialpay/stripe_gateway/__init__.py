"""The card gateway ``stripe``: payments and refunds through Stripe's API.

The shopper pays on the extension's card page with Stripe's Payment Element (the card is
typed into Stripe's own frame, never sent to the shop); Stripe's signed webhooks, not the
browser, tell the shop the outcome. Stripe's SDK is an optional dependency
(``pip install 'flask-partialpay[stripe]'``): nothing imported here loads it, so an app
that does not offer ``stripe`` runs without it.
"""

from __future__ import annotations

#: The gateway's name in ``PARTIALPAY_GATEWAYS``, on payments and in the callback URL.
NAME = "stripe"
