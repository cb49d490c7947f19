"""Fixtures of tests/stripe.

-- The gateway at the SDK's HTTP boundary (recorded responses) ------------------------------

``stripe_app``: a bare app (the unit tier's way: no shop) offering ``stripe`` beside bank
transfer, in an app context, with the extension's tables on the test's backend, and its
gateway's HTTP calls answered by ``recorded_stripe`` (:mod:`tests.stripe.recorded`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_partialpay import PartialPay
from flask_partialpay.schema import metadatas
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests import backends
from tests.stripe.recorded import RecordedStripe
from tests.unit import bare

#: Test-mode keys of no account: they must never appear in a log or a page.
SECRET_KEY = "sk_test_51NotARealKeyRecordedTests0000000000000000000000000000"
PUBLISHABLE_KEY = "pk_test_51NotARealKeyRecordedTests0000000000000000000000000000"
WEBHOOK_SECRET = "whsec_recordedTestsNotARealSecret000000000000"


def stripe_settings(**overrides: Any) -> dict[str, Any]:
    """The settings of an app offering Stripe, with ``overrides``."""
    return {
        "PARTIALPAY_GATEWAYS": ("stripe", "manual"),
        "PARTIALPAY_STRIPE_SECRET_KEY": SECRET_KEY,
        "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "PARTIALPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        **overrides,
    }


@pytest.fixture
def stripe_config() -> dict[str, Any]:
    """The app's ``PARTIALPAY_*`` settings (a module overrides it to change them)."""
    return stripe_settings()


@pytest.fixture
def recorded_stripe() -> RecordedStripe:
    return RecordedStripe()


@pytest.fixture
def stripe_app(
    request: pytest.FixtureRequest,
    backend: str,
    database_url: str,
    stripe_config: dict[str, Any],
    recorded_stripe: RecordedStripe,
) -> Iterator[Flask]:
    app = Flask(request.module.__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="stripe-tests-secret-key",
        SQLALCHEMY_DATABASE_URI=database_url,
        **stripe_config,
    )
    bare.db.init_app(app)
    extension = PartialPay(app, bare.db)
    with app.app_context():
        gateway = PartialPay.state().gateway("stripe")
        assert isinstance(gateway, StripeGateway)
        gateway.api.use_http_client(recorded_stripe)
        tables = metadatas(app)
        if backend == "sqlite":
            extension.create_tables()
        else:
            backends.use_tables(bare.db.engine, backend, tables)
        yield app
        bare.db.session.remove()
        if backend != "sqlite":
            backends.empty_tables(bare.db.engine, tables)
        bare.db.engine.dispose()


# -- localstripe, and the example shop it sends webhooks to (tests/stripe/localstripe_fixtures.py)
from tests.stripe.localstripe_fixtures import (  # noqa: E402
    localstripe,
    localstripe_data,
    localstripe_settings,
    stripe_shop,
)

__all__ = ["localstripe", "localstripe_data", "localstripe_settings", "stripe_shop"]
