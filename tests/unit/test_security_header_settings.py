"""The extension's security headers on a bare host: a setting, and never over the host's."""

from __future__ import annotations

from typing import Any

from flask import Flask, after_this_request
from flask_sqlalchemy import SQLAlchemy
from werkzeug.wrappers import Response

from flask_partialpay import PartialPay

# A page of the extension's shopper blueprint that needs no signed-in user.
STYLESHEET = "/partialpay/static/partialpay.css"


def bare_host(**config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("host")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", TESTING=True)
    app.config.update(config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


def test_a_header_the_host_already_set_is_kept() -> None:
    app, database = bare_host()
    PartialPay(app, database)

    @app.before_request
    def host_policy() -> None:
        @after_this_request
        def frame_from_our_own_site(response: Response) -> Response:
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
            response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
            return response

    with app.test_client().get(STYLESHEET) as response:
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_the_policy_is_a_setting() -> None:
    app, database = bare_host(PARTIALPAY_CONTENT_SECURITY_POLICY="default-src 'self' cdn.test")
    PartialPay(app, database)
    with app.test_client().get(STYLESHEET) as response:
        assert response.headers["Content-Security-Policy"] == "default-src 'self' cdn.test"
    app, database = bare_host(PARTIALPAY_CONTENT_SECURITY_POLICY=None)
    PartialPay(app, database)
    with app.test_client().get(STYLESHEET) as response:
        assert "Content-Security-Policy" not in response.headers
        assert response.headers["X-Frame-Options"] == "DENY"
