"""The ``PARTIALPAY_STRIPE_*`` settings an app needs before it may offer ``stripe``.

Checked at ``init_app``, and only when ``PARTIALPAY_GATEWAYS`` names the gateway: a shop
that does not take cards through Stripe needs neither the keys nor the SDK. Messages name
the setting, never its value: a key must not reach a log or a page.
"""

from __future__ import annotations

import importlib.util

from flask import Flask

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.stripe_gateway import NAME

#: Each key the gateway cannot work without, and what it is for.
REQUIRED_KEYS = {
    "PARTIALPAY_STRIPE_SECRET_KEY": "the gateway calls Stripe's API with it",
    "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": "the card page gives it to Stripe.js",
    "PARTIALPAY_STRIPE_WEBHOOK_SECRET": ("it proves that a payment notification comes from Stripe"),
}


def sdk_installed() -> bool:
    """Whether Stripe's SDK can be imported (it is an optional dependency)."""
    try:
        return importlib.util.find_spec("stripe") is not None
    except ValueError:  # a module hidden as ``sys.modules["stripe"] = None``
        return False


def check_settings(app: Flask) -> None:
    """Refuse to start an app offering ``stripe`` without its SDK, keys or a valid tolerance."""
    if NAME not in app.config["PARTIALPAY_GATEWAYS"]:
        return
    if not sdk_installed():
        raise ConfigurationError(
            "The stripe gateway needs Stripe's SDK: pip install 'flask-partialpay[stripe]', "
            "or take stripe out of PARTIALPAY_GATEWAYS."
        )
    for key, why in REQUIRED_KEYS.items():
        value = app.config.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(
                f"{key} is not set: {why}. Copy it from the Stripe dashboard (test mode "
                "keys for development), or take stripe out of PARTIALPAY_GATEWAYS."
            )
    tolerance = app.config["PARTIALPAY_STRIPE_WEBHOOK_TOLERANCE"]
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance <= 0:
        raise ConfigurationError(
            "PARTIALPAY_STRIPE_WEBHOOK_TOLERANCE must be a positive number of seconds."
        )
    if not app.config["PARTIALPAY_STRIPE_API_VERSION"]:
        raise ConfigurationError("PARTIALPAY_STRIPE_API_VERSION must name a Stripe API version.")
