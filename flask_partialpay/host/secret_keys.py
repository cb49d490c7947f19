"""Refusing to start with a secret anyone can look up.

``SECRET_KEY`` signs the host's session cookie (who is signed in, who is an admin) and, by
default, the Buy and Complete Payment links; ``PARTIALPAY_SANDBOX_SECRET`` signs the
sandbox processor's payment notifications. With a key copied from a tutorial or left at a
project's placeholder, anyone can sign in as an admin or announce a payment that was never
made. So :func:`check_secrets` stops ``init_app`` outside debug and testing mode when a
key is empty or one of the well-known placeholders below.
"""

from __future__ import annotations

import secrets

from flask import Flask

from flask_partialpay.core.errors import ConfigurationError

# Placeholders from tutorials, framework templates and this project's own old demo
# (``dev-only-secret-change-me``). Compared ignoring case and surrounding white space. The
# list cannot be complete: any short or guessable key is as bad; it catches the ones that
# are copied most.
KNOWN_PLACEHOLDERS = frozenset(
    {
        "dev-only-secret-change-me",
        "dev",
        "development",
        "devkey",
        "dev-key",
        "dev_key",
        "dev-secret",
        "dev-secret-key",
        "secret",
        "secretkey",
        "secret-key",
        "secret_key",
        "mysecret",
        "my-secret",
        "my-secret-key",
        "mysecretkey",
        "supersecret",
        "super-secret",
        "super-secret-key",
        "supersecretkey",
        "your-secret-key",
        "your_secret_key",
        "yoursecretkey",
        "your-secret-key-here",
        "changeme",
        "change-me",
        "change_me",
        "change-this",
        "changethis",
        "change-this-secret",
        "replace-me",
        "please-change-me",
        "default",
        "password",
        "test",
        "testing",
        "keyboard cat",
        "not-so-secret",
        "notsecret",
        "insecure",
        "key",
        "none",
        "null",
    }
)

_HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_hex(32))'"


def is_placeholder(value: object) -> bool:
    """True when ``value`` is no secret: empty, blank, or a well-known placeholder."""
    if value is None:
        return True
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text.strip().lower() in KNOWN_PLACEHOLDERS or not text.strip()


def check_secrets(app: Flask) -> None:
    """Refuse to start with a missing or placeholder secret, unless debug or testing.

    In debug or testing mode nothing is refused, and when the sandbox card gateway is
    configured without ``PARTIALPAY_SANDBOX_SECRET``, a random one is made for the life
    of the app, so that its payments still work in-process.
    """
    sandbox = "sandbox_card" in app.config["PARTIALPAY_GATEWAYS"]
    if app.debug or app.testing:
        if sandbox and not app.config["PARTIALPAY_SANDBOX_SECRET"]:
            app.config["PARTIALPAY_SANDBOX_SECRET"] = secrets.token_hex(32)
        return
    if is_placeholder(app.config.get("SECRET_KEY")):
        raise ConfigurationError(
            "SECRET_KEY is empty or a well-known placeholder: anyone could forge this "
            "shop's sessions (and sign in as an admin) and its Buy links. Set SECRET_KEY to "
            f"a long random value kept out of your code, such as the output of {_HOW_TO_MAKE_ONE} "
            "(example_shop keeps one in its instance folder). Only an app in debug or "
            "testing mode may start without one."
        )
    link_secret = app.config["PARTIALPAY_LINK_SECRET"]
    if link_secret is not None and is_placeholder(link_secret):
        raise ConfigurationError(
            "PARTIALPAY_LINK_SECRET is empty or a well-known placeholder: set it to a long "
            f"random value ({_HOW_TO_MAKE_ONE}), or leave it unset to use SECRET_KEY."
        )
    if sandbox and is_placeholder(app.config["PARTIALPAY_SANDBOX_SECRET"]):
        raise ConfigurationError(
            "PARTIALPAY_SANDBOX_SECRET is not set (or is a well-known placeholder): the "
            "sandbox card gateway signs its payment notifications with it, and anyone who "
            "knows it can announce a payment that was never made. Set it to a long random "
            f"value of its own, not SECRET_KEY ({_HOW_TO_MAKE_ONE}), or take sandbox_card "
            "out of PARTIALPAY_GATEWAYS. In debug or testing mode a random one is made at "
            "start."
        )
