"""No secret anyone can look up: the shop's keys are made on first run and the sandbox
processor signs with a secret of its own (the extension's checks of its settings are in
``tests/unit/test_secret_checks.py``)."""

from __future__ import annotations

import hashlib
import hmac
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from example_shop import create_app, partialpay
from example_shop.demo import seed
from example_shop.models import User, db
from flask_partialpay import Payment
from flask_partialpay.sandbox import processor
from tests.conftest import Shopper
from tests.unit.test_secret_checks import OLD_DEMO_KEY, STRONG

CALLBACK_URL = "/partialpay/gateways/sandbox_card/callback"


SANDBOX_AND_MANUAL = ("sandbox_card", "manual")


@pytest.fixture
def no_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PARTIALPAY_SANDBOX_SECRET", raising=False)


def demo_app(instance: Path, **config: Any) -> Flask:
    """The example shop as ``make demo`` runs it: no debug, no testing, no key given."""
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'shop.sqlite'}", **config},
        instance_path=str(instance),
    )


# -- the example shop -----------------------------------------------------------------


def test_the_shop_makes_its_secret_key_on_first_run_and_keeps_it(
    tmp_path: Path, no_secret_env: None
) -> None:
    first = demo_app(tmp_path / "one")
    key = first.config["SECRET_KEY"]
    assert key != OLD_DEMO_KEY
    assert len(key) >= 64  # 32 random bytes, in hex
    kept = tmp_path / "one" / "secret_key"
    assert kept.read_text().strip() == key
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # readable by the shop's user only
    assert demo_app(tmp_path / "one").config["SECRET_KEY"] == key  # the next run, a worker
    assert demo_app(tmp_path / "two").config["SECRET_KEY"] != key  # another shop


def test_the_shops_sandbox_secret_is_its_own_random_value(
    tmp_path: Path, no_secret_env: None
) -> None:
    app = demo_app(tmp_path)
    secret = app.config["PARTIALPAY_SANDBOX_SECRET"]
    assert len(secret) >= 64 and secret != app.config["SECRET_KEY"]
    kept = tmp_path / "sandbox_secret"
    assert kept.read_text().strip() == secret
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert demo_app(tmp_path).config["PARTIALPAY_SANDBOX_SECRET"] == secret


def test_the_environment_wins_over_the_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("PARTIALPAY_SANDBOX_SECRET", STRONG[::-1])
    app = demo_app(tmp_path)
    assert app.config["SECRET_KEY"] == STRONG
    assert app.config["PARTIALPAY_SANDBOX_SECRET"] == STRONG[::-1]
    assert not (tmp_path / "secret_key").exists()


def test_an_empty_secret_file_is_refused_with_how_to_fix_it(
    tmp_path: Path, no_secret_env: None
) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="secret_key is empty: delete it"):
        demo_app(tmp_path)


@pytest.fixture
def demo_shop(tmp_path: Path, no_secret_env: None) -> Iterator[Flask]:
    app = demo_app(tmp_path)
    with app.app_context():
        db.create_all()
        partialpay.create_tables()
        seed(welcome_credit=False)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_an_admin_session_signed_with_the_old_demo_key_is_not_accepted(
    demo_shop: Flask,
) -> None:
    with demo_shop.app_context():
        admin_id = db.session.scalars(
            sa.select(User.id).where(User.email == "admin@example.com")
        ).one()
    forger = Flask("forger")
    forger.secret_key = OLD_DEMO_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    forged = serializer.dumps({"_user_id": str(admin_id), "_fresh": True})
    client = demo_shop.test_client()
    client.set_cookie("session", forged)
    answer = client.get("/partialpay/admin/payments")
    assert answer.status_code == 302 and answer.location.startswith("/login")


# -- the sandbox processor's own secret --------------------------------------------------


def signed_the_old_way(body: bytes, secret_key: str) -> str:
    """A signature made as the sandbox used to: with a key derived from SECRET_KEY."""
    key = hmac.new(secret_key.encode(), b"flask-partialpay sandbox callbacks", hashlib.sha256)
    signed_at = int(time.time())
    digest = hmac.new(key.digest(), f"{signed_at}.".encode() + body, hashlib.sha256)
    return f"t={signed_at},v1={digest.hexdigest()}"


def test_a_notification_signed_with_the_session_key_credits_nothing(
    app: Flask, shopper: Shopper
) -> None:
    shopper.add_to_cart("notebook")
    shopper.checkout("sandbox_card")
    payment = db.session.scalars(sa.select(Payment)).one()
    body = (
        b'{"created":%d,"data":{"amount":%d,"charge":"ch_forged","currency":"USD",'
        b'"failure_message":null,"payment":"%s"},"id":"evt_forged","type":"charge.succeeded"}'
        % (int(time.time()), payment.amount_minor, payment.public_id.encode())
    )
    header = signed_the_old_way(body, app.config["SECRET_KEY"])
    answer = app.test_client().post(
        CALLBACK_URL, data=body, headers={processor.SIGNATURE_HEADER: header}
    )
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"  # type: ignore[union-attr]
