"""Fixtures: the example shop on each configured database, a clean database per test.

These are the integration tier's; tests of the extension alone use the smaller fixtures of
``tests/unit/conftest.py``. Which databases run, and how their tables are kept, is in
:mod:`tests.backends` (see tests/README.md).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient

from example_shop import create_app
from example_shop.card_gateways import STRIPE_ENDPOINTS, STRIPE_KEYS
from example_shop.demo import seed
from example_shop.models import db
from flask_partialpay import PartialPayModel
from flask_partialpay.sandbox.models import SandboxModel
from tests import backends

# One Chromium for the run, for every folder that drives a browser (see tests/chromium.py).
from tests.chromium import browser  # noqa: F401

# The project's wheel, built once for the run (tests/wheel_build.py).
from tests.wheel_build import built_wheel  # noqa: F401

# The example shop enables the sandbox card, so its processor's tables are there too.
METADATAS = (db.metadata, PartialPayModel.metadata, SandboxModel.metadata)


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Flask reuses an app context that is already pushed (the tests push one to query the
    database), which would share ``g`` and the database session between the test and
    every request. Running each request in an empty ``contextvars.Context`` gives it its
    own; afterwards the test's session ends its transaction so it sees what was committed.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        def request_alone() -> Any:
            try:
                return super(IsolatedClient, self).open(*args, **kwargs)
            finally:
                # The client keeps the request's contexts for inspection; they belong to
                # this isolated context, so they are popped here, not by the next request.
                self._context_stack.close()

        response = contextvars.Context().run(request_alone)
        if has_app_context() and db.session.registry.has():
            db.session.commit()
        return response


@pytest.fixture(autouse=True)
def no_stripe_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example shop offers Stripe when its keys are in the environment (the local
    Stripe set-up of docs/stripe.md exports them): the tests choose for themselves, in the config.

    Autouse, and also asked for by the shop's fixtures, which pytest-flask's own autouse
    fixtures may make before this one."""
    for name in (*STRIPE_KEYS, *STRIPE_ENDPOINTS):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=backends.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> str:
    return backends.database_url(backend, tmp_path)


@pytest.fixture
def shop_config() -> dict[str, Any]:
    """Settings a test module gives the shop over the tier's own (override it there)."""
    return {}


@pytest.fixture
def app(
    no_stripe_keys_in_the_environment: None,
    backend: str,
    database_url: str,
    tmp_path: Path,
    shop_config: dict[str, Any],
) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            **shop_config,
        },
        instance_path=str(tmp_path),
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        if backend == "sqlite":
            for metadata in METADATAS:
                metadata.create_all(db.engine)
        else:
            backends.use_tables(db.engine, backend, METADATAS)
        seed(welcome_credit=False)
        yield app
        db.session.remove()
        if backend != "sqlite":
            backends.empty_tables(db.engine, METADATAS)
        db.engine.dispose()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html
    )
    assert match, f"page has no field {name}"
    return match.group(1)


class Shopper:
    """Drives the example shop over HTTP as a person would, CSRF tokens included."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post_form(self, page_url: str, action_url: str, data: dict[str, str], **kwargs: Any) -> Any:
        """Open ``page_url`` (for its CSRF token), then submit ``data`` to ``action_url``."""
        page = self.client.get(page_url)
        assert page.status_code == 200, (page_url, page.status_code)
        html = page.get_data(as_text=True)
        return self.client.post(action_url, data={"csrf_token": csrf_from(html), **data}, **kwargs)

    def login(self, email: str, password: str) -> None:
        response = self.post_form("/login", "/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)

    def add_to_cart(self, sku: str, quantity: int = 1) -> None:
        from example_shop.models import Product

        product = db.session.scalars(sa.select(Product).where(Product.sku == sku)).one()
        response = self.post_form("/", f"/cart/add/{product.id}", {"quantity": str(quantity)})
        assert response.status_code == 302

    def checkout(self, gateway: str) -> Any:
        page = self.client.get("/cart").get_data(as_text=True)
        return self.client.post(
            "/checkout",
            data={
                "csrf_token": csrf_from(page),
                "gateway": gateway,
                "key": form_value(page, "key"),
                # The "Via wallet" amount the page showed, as a browser sends it back.
                "wallet": form_value(page, "wallet"),
            },
        )

    def pay_card(self, card_url: str, number: str, expiry: str = "12/39", cvc: str = "123") -> Any:
        return self.post_form(
            card_url, card_url, {"card_number": number, "expiry": expiry, "cvc": cvc}
        )


@pytest.fixture
def shopper(client: FlaskClient) -> Shopper:
    person = Shopper(client)
    person.login("asha@example.com", "asha-demo")
    return person


@pytest.fixture
def other_shopper(app: Flask) -> Shopper:
    person = Shopper(app.test_client())
    person.login("ravi@example.com", "ravi-demo")
    return person


@pytest.fixture
def admin(app: Flask) -> Shopper:
    person = Shopper(app.test_client())
    person.login("admin@example.com", "admin-demo")
    return person
