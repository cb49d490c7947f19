"""The example shop's e-mail: files in the instance folder, in the language each user chose."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import User, db
from tests.conftest import Shopper


@pytest.fixture
def shop_config() -> dict[str, Any]:
    return {"PARTIALPAY_MAIL": True}


def _mails(app: Flask) -> list[EmailMessage]:
    folder = Path(app.config["MAIL_FILE_PATH"])
    found = []
    for path in sorted(folder.glob("*.log")):
        # The file backend writes each message followed by a line of dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                parsed = message_from_bytes(chunk.strip(), policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                found.append(parsed)
    return found


def test_a_wallet_credit_is_written_to_the_mail_folder_in_the_users_language(
    app: Flask, shopper: Shopper
) -> None:
    response = shopper.post_form("/", "/language", {"language": "es", "next": "/"})
    assert response.status_code == 302
    asha = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    assert asha.language == "es"

    partialpay.wallets.credit(str(asha.id), "25.00", "INR", reason="adjustment")

    (mail,) = _mails(app)
    assert mail["To"] == "asha@example.com"
    assert mail["From"] == "shop@example.com"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "25,00" in str(body.get_content())  # type: ignore[attr-defined]


def test_the_shop_sends_no_e_mail_in_tests_unless_asked(app: Flask) -> None:
    assert app.config["PARTIALPAY_MAIL"] is True  # this module asks
    from example_shop import create_app

    quiet = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    assert quiet.config["PARTIALPAY_MAIL"] is False
