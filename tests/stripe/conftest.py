"""Fixtures of the Stripe tests."""

from __future__ import annotations

# -- localstripe and the shop it sends webhooks to (tests/stripe/localstripe_fixtures.py) ----
from tests.stripe.localstripe_fixtures import (
    localstripe,
    localstripe_data,
    stripe_settings,
    stripe_shop,
)

__all__ = ["localstripe", "localstripe_data", "stripe_settings", "stripe_shop"]
