"""The extension refuses placeholder secrets outside debug and testing, and the sandbox
processor signs with a secret of its own."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import ConfigurationError, PartialPay
from flask_partialpay.sandbox import processor

# The key the example shop once shipped with: public, so as good as none.
OLD_DEMO_KEY = "dev-only-secret-change-me"
STRONG = "3f1c0e6b2a9d4c8e7f5a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e"


def host(**config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("host")
    # The sandbox card, whose notifications its own secret signs (a test that leaves it out
    # says so).
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://", PARTIALPAY_GATEWAYS=("sandbox_card", "manual")
    )
    app.config.update(config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


PLACEHOLDERS = [
    None,
    "",
    "   ",
    OLD_DEMO_KEY,
    "dev",
    "secret",
    "changeme",
    "change-me",
    " Change-Me ",
    "your-secret-key",
    b"secret",
]


@pytest.mark.parametrize("key", PLACEHOLDERS)
def test_a_placeholder_secret_key_stops_the_app(key: object) -> None:
    app, database = host(SECRET_KEY=key, PARTIALPAY_SANDBOX_SECRET=STRONG)
    with pytest.raises(ConfigurationError, match=r"SECRET_KEY is empty or a well-known") as error:
        PartialPay(app, database)
    assert "secrets.token_hex(32)" in str(error.value)
    assert "partialpay" not in app.extensions


@pytest.mark.parametrize("mode", ["TESTING", "DEBUG"])
@pytest.mark.parametrize("key", [None, OLD_DEMO_KEY])
def test_debug_and_testing_apps_may_start_with_a_placeholder(mode: str, key: object) -> None:
    app, database = host(SECRET_KEY=key, **{mode: True})
    PartialPay(app, database)
    assert "partialpay" in app.extensions


def test_a_real_secret_key_starts() -> None:
    app, database = host(SECRET_KEY=STRONG, PARTIALPAY_SANDBOX_SECRET=STRONG[::-1])
    PartialPay(app, database)
    assert "partialpay" in app.extensions


@pytest.mark.parametrize("sandbox_secret", [None, "", "changeme"])
def test_the_sandbox_card_without_its_own_secret_stops_the_app(sandbox_secret: object) -> None:
    app, database = host(SECRET_KEY=STRONG, PARTIALPAY_SANDBOX_SECRET=sandbox_secret)
    with pytest.raises(ConfigurationError, match="PARTIALPAY_SANDBOX_SECRET is not set"):
        PartialPay(app, database)


def test_without_the_sandbox_card_no_sandbox_secret_is_needed() -> None:
    app, database = host(SECRET_KEY=STRONG, PARTIALPAY_GATEWAYS=("manual",))
    PartialPay(app, database)
    assert app.config["PARTIALPAY_SANDBOX_SECRET"] is None


def test_a_placeholder_link_secret_stops_the_app() -> None:
    app, database = host(
        SECRET_KEY=STRONG, PARTIALPAY_SANDBOX_SECRET=STRONG, PARTIALPAY_LINK_SECRET="secret"
    )
    with pytest.raises(ConfigurationError, match="PARTIALPAY_LINK_SECRET"):
        PartialPay(app, database)


def test_a_testing_app_gets_a_random_sandbox_secret_not_derived_from_its_key() -> None:
    made = set()
    for _ in range(2):
        app, database = host(SECRET_KEY="same key", TESTING=True)
        PartialPay(app, database)
        made.add(app.config["PARTIALPAY_SANDBOX_SECRET"])
        with app.app_context():
            assert processor.signing_secret() == app.config["PARTIALPAY_SANDBOX_SECRET"].encode()
    assert len(made) == 2 and all(len(secret) >= 64 for secret in made)


def test_a_given_sandbox_secret_signs_the_notifications() -> None:
    app, database = host(SECRET_KEY=STRONG, PARTIALPAY_SANDBOX_SECRET="its own " + STRONG)
    PartialPay(app, database)
    with app.app_context():
        assert processor.signing_secret() == ("its own " + STRONG).encode()
