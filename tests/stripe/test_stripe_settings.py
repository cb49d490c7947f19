"""What an app needs before it may offer ``stripe``, and that the SDK stays optional."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.stripe_gateway.settings import REQUIRED_KEYS
from tests.stripe.conftest import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, stripe_settings


def registered(settings: dict[str, Any]) -> Flask:
    app = Flask("stripe_settings")
    app.config.update(
        TESTING=True,
        SECRET_KEY="stripe-settings-secret",
        SQLALCHEMY_DATABASE_URI="sqlite://",
        **settings,
    )
    PartialPay(app, SQLAlchemy(app))
    return app


@pytest.mark.parametrize("missing", sorted(REQUIRED_KEYS))
@pytest.mark.parametrize("unset_as", [None, "", "  "])
def test_a_missing_key_stops_init_app_naming_it(missing: str, unset_as: str | None) -> None:
    with pytest.raises(ConfigurationError) as raised:
        registered(stripe_settings(**{missing: unset_as}))
    message = str(raised.value)
    assert message.startswith(f"{missing} is not set: ")
    # The message names the setting, never the value of another key.
    for key in (SECRET_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET):
        assert key not in message


def test_the_keys_are_not_needed_when_stripe_is_not_offered() -> None:
    app = registered({"PARTIALPAY_GATEWAYS": ("manual",)})
    assert "stripe" not in app.extensions["partialpay"].gateways


@pytest.mark.parametrize("tolerance", [0, -5, "300", True])
def test_the_webhook_tolerance_is_a_positive_number_of_seconds(tolerance: object) -> None:
    with pytest.raises(ConfigurationError, match="PARTIALPAY_STRIPE_WEBHOOK_TOLERANCE"):
        registered(stripe_settings(PARTIALPAY_STRIPE_WEBHOOK_TOLERANCE=tolerance))


def test_an_app_offering_stripe_starts_with_its_keys() -> None:
    app = registered(stripe_settings())
    assert app.extensions["partialpay"].gateways["stripe"].name == "stripe"


# Run in a fresh interpreter in which Stripe's SDK cannot be imported, as on a host that
# did not install the extra.
_WITHOUT_SDK = textwrap.dedent(
    """
    import sys
    sys.modules["stripe"] = None  # import stripe raises ImportError from here on

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    import flask_partialpay
    from flask_partialpay.core.errors import ConfigurationError


    def app_with(gateways, **keys):
        app = Flask("no_sdk")
        app.config.update(TESTING=True, SECRET_KEY="no-sdk-secret",
                          SQLALCHEMY_DATABASE_URI="sqlite://", PARTIALPAY_GATEWAYS=gateways,
                          **keys)
        flask_partialpay.PartialPay(app, SQLAlchemy(app))
        return app

    app = app_with(("sandbox_card", "manual"))
    with app.test_request_context():
        assert "stripe" not in app.extensions["partialpay"].gateways
    try:
        app_with(("stripe", "manual"), PARTIALPAY_STRIPE_SECRET_KEY="sk_test_x",
                 PARTIALPAY_STRIPE_PUBLISHABLE_KEY="pk_test_x",
                 PARTIALPAY_STRIPE_WEBHOOK_SECRET="whsec_x")
    except ConfigurationError as error:
        print(error)
    else:
        raise SystemExit("an app offering stripe started without the SDK")
    assert "stripe" not in sys.modules or sys.modules["stripe"] is None
    """
)


def test_the_extension_works_without_the_sdk_and_stripe_needs_it() -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed probe)
        [sys.executable, "-c", _WITHOUT_SDK], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'flask-partialpay[stripe]'" in done.stdout


def test_the_settings_command_hides_the_secret_keys() -> None:
    app = registered(stripe_settings())
    printed = app.test_cli_runner().invoke(args=["partialpay", "settings"]).output
    assert "PARTIALPAY_STRIPE_SECRET_KEY = '(set)'" in printed
    assert "PARTIALPAY_STRIPE_WEBHOOK_SECRET = '(set)'" in printed
    assert SECRET_KEY not in printed and WEBHOOK_SECRET not in printed
