"""The example shop offers "Card (Stripe)" beside the sandbox when, and only when, the three
Stripe keys are given (its config or the environment); without them it runs as before."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from example_shop import create_app
from example_shop.card_gateways import WITH_STRIPE, WITHOUT_STRIPE
from tests.conftest import Shopper

STRIPE_SETTINGS = {
    "PARTIALPAY_STRIPE_SECRET_KEY": "sk_test_shopSecretKey4xQ",
    "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": "pk_test_shopPublishable7Rz",
    "PARTIALPAY_STRIPE_WEBHOOK_SECRET": "whsec_shopWebhookSecret2Lp",
}
LOCAL_STRIPE = {
    "PARTIALPAY_STRIPE_API_BASE": "http://127.0.0.1:8420",
    "PARTIALPAY_STRIPE_JS_URL": "http://127.0.0.1:8420/js.stripe.com/v3/",
}
OPTIONS = ("Card (sandbox)", "Card (Stripe)", "Bank transfer")


@pytest.fixture
def stripe_environment(
    no_stripe_keys_in_the_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys (and a local Stripe) exported, as docs/stripe.md's set-up does."""
    for name, value in (STRIPE_SETTINGS | LOCAL_STRIPE).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def shop_config(request: pytest.FixtureRequest) -> dict[str, object]:
    """Nothing in the shop's config; with ``indirect`` "exported", the keys in its
    environment before the shop is made."""
    if getattr(request, "param", None) == "exported":
        request.getfixturevalue("stripe_environment")
    return {}


def config_of_a_shop(tmp_path: Path, **config: object) -> dict[str, object]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite'}",
            **config,
        },
        instance_path=str(tmp_path),
    )
    return dict(app.config)


def offered(shopper: Shopper) -> list[str]:
    """The payment methods the cart offers for the kurta, in the order shown."""
    shopper.add_to_cart("kurta")
    page = shopper.get("/cart").get_data(as_text=True)
    shown = [(page.find(option), option) for option in OPTIONS if option in page]
    return [option for _, option in sorted(shown)]


def test_without_the_keys_the_shop_offers_the_sandbox_and_bank_transfer(shopper: Shopper) -> None:
    assert offered(shopper) == ["Card (sandbox)", "Bank transfer"]


@pytest.mark.parametrize("shop_config", ["exported"], indirect=True)
def test_with_the_keys_in_the_environment_the_cart_offers_stripe_beside_the_sandbox(
    shopper: Shopper,
) -> None:
    assert offered(shopper) == ["Card (sandbox)", "Card (Stripe)", "Bank transfer"]
    # The secret key is the server's: no page shows it.
    assert STRIPE_SETTINGS["PARTIALPAY_STRIPE_SECRET_KEY"] not in shopper.get("/cart").get_data(
        as_text=True
    )


@pytest.mark.usefixtures("stripe_environment")
def test_the_environment_gives_the_keys_and_where_stripe_is(tmp_path: Path) -> None:
    config = config_of_a_shop(tmp_path)
    assert config["PARTIALPAY_GATEWAYS"] == WITH_STRIPE
    for name, value in (STRIPE_SETTINGS | LOCAL_STRIPE).items():
        assert config[name] == value


def test_the_keys_in_the_config_offer_stripe_too(tmp_path: Path) -> None:
    config = config_of_a_shop(tmp_path, **STRIPE_SETTINGS)
    assert config["PARTIALPAY_GATEWAYS"] == WITH_STRIPE
    assert config.get("PARTIALPAY_STRIPE_API_BASE") is None  # Stripe itself


@pytest.mark.usefixtures("stripe_environment")
def test_the_config_wins_over_the_environment(tmp_path: Path) -> None:
    mine = {"PARTIALPAY_STRIPE_SECRET_KEY": "sk_test_fromTheConfig9Kd"}
    config = config_of_a_shop(tmp_path, **mine, PARTIALPAY_GATEWAYS=("manual",))
    assert config["PARTIALPAY_STRIPE_SECRET_KEY"] == mine["PARTIALPAY_STRIPE_SECRET_KEY"]
    assert config["PARTIALPAY_GATEWAYS"] == ("manual",)  # the config chose the gateways


def test_without_the_keys_nothing_changes(tmp_path: Path) -> None:
    config = config_of_a_shop(tmp_path)
    assert config["PARTIALPAY_GATEWAYS"] == WITHOUT_STRIPE
    assert config.get("PARTIALPAY_STRIPE_SECRET_KEY") is None


def test_some_keys_but_not_all_leave_stripe_off_and_say_which_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret, publishable, _ = STRIPE_SETTINGS
    monkeypatch.setenv(secret, STRIPE_SETTINGS[secret])
    monkeypatch.setenv(publishable, STRIPE_SETTINGS[publishable])
    with caplog.at_level(logging.WARNING, logger="example_shop"):
        config = config_of_a_shop(tmp_path)
    assert config["PARTIALPAY_GATEWAYS"] == WITHOUT_STRIPE
    assert "PARTIALPAY_STRIPE_WEBHOOK_SECRET not set" in caplog.text
    for value in STRIPE_SETTINGS.values():
        assert value not in caplog.text
