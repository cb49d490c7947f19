"""Which ways to pay the shop offers: the sandbox card always, Stripe when its keys are given.

The sandbox lets anyone try the shop without an account anywhere. A shop that has a Stripe
account (test mode is enough) gives its three keys, in its config or in the environment,
and its customers are offered "Card (Stripe)" beside the sandbox. Without all three, the
shop runs as it always did: a half-configured Stripe would only stop the app at start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

logger = logging.getLogger(__name__)

# The three settings the "stripe" gateway cannot run without.
STRIPE_KEYS = (
    "PARTIALPAY_STRIPE_SECRET_KEY",
    "PARTIALPAY_STRIPE_PUBLISHABLE_KEY",
    "PARTIALPAY_STRIPE_WEBHOOK_SECRET",
)
# Where Stripe is: unset, Stripe itself; a local test server (localstripe) sets both.
STRIPE_ENDPOINTS = ("PARTIALPAY_STRIPE_API_BASE", "PARTIALPAY_STRIPE_JS_URL")

WITHOUT_STRIPE = ("sandbox_card", "manual")
WITH_STRIPE = ("sandbox_card", "stripe", "manual")


def choose_gateways(app: Flask, config: Mapping[str, Any]) -> None:
    """Fill in the Stripe settings the config leaves empty from the environment, and offer
    Stripe when its three keys are there, unless ``config`` names the gateways itself."""
    for name in (*STRIPE_KEYS, *STRIPE_ENDPOINTS):
        if not app.config.get(name) and os.environ.get(name):
            app.config[name] = os.environ[name]
    if "PARTIALPAY_GATEWAYS" in config:
        return
    missing = [name for name in STRIPE_KEYS if not app.config.get(name)]
    if not missing:
        app.config["PARTIALPAY_GATEWAYS"] = WITH_STRIPE
        return
    app.config["PARTIALPAY_GATEWAYS"] = WITHOUT_STRIPE
    if len(missing) < len(STRIPE_KEYS):
        # Some keys but not all: most likely a typo in a name. Say which are missing (their
        # names only: a key's value is never logged).
        logger.warning("Card (Stripe) is not offered: %s not set.", ", ".join(missing))
