"""Browser tests: the example shop on a real HTTP server, driven by Chromium.

Each test gets a fresh shop (its own SQLite file, demo data seeded) served on
127.0.0.1 by a threaded WSGI server, and opens it in Debian's Chromium through
Playwright. Without Playwright or the browser the tests are skipped; with
``PARTIALPAY_REQUIRE_BROWSER=1`` (as in CI) that fails the run instead.

A test that pays through Stripe overrides ``shop_config`` to point the shop at
``localstripe_data`` (a local Stripe, tests/stripe/localstripe_fixtures.py) and asks for
``stripe_webhook``, which sends localstripe's webhooks to its shop.

Screenshots of the steps go to ``test-artifacts/screenshots/<test>/``; every extension
page a test visits is checked with axe-core, and its findings are written to
``test-artifacts/axe/<test>.json``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_artifacts import Accessibility, Screenshots, artifact_name
from flask import Flask, url_for
from werkzeug.serving import BaseWSGIServer, make_server

from example_shop import create_app, partialpay
from example_shop.demo import seed
from example_shop.models import db

# localstripe, for the tests that pay through Stripe (started only when one asks for it).
from tests.stripe.localstripe_fixtures import (
    WEBHOOK_SECRET,
    LocalStripe,
    localstripe,  # noqa: F401
    localstripe_data,  # noqa: F401
)

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"


# -- the shop -------------------------------------------------------------------------


@dataclass
class Shop:
    """A running example shop: its base URL and its Flask app (for the rare direct look)."""

    url: str
    app: Flask


@pytest.fixture
def welcome_credit() -> bool:
    """Whether the demo seed gives Asha her ₹100 welcome credit; a module may override it."""
    return False


@pytest.fixture
def shop_config() -> dict[str, Any]:
    """Settings a module gives the shop over these (the Stripe test's gateways, say)."""
    return {}


@pytest.fixture
def shop(
    no_stripe_keys_in_the_environment: None,
    tmp_path: Path,
    welcome_credit: bool,
    shop_config: dict[str, Any],
) -> Iterator[Shop]:
    """A fresh example shop with demo data, served over HTTP on 127.0.0.1."""
    app = create_app(
        {
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite'}",
            "WTF_CSRF_ENABLED": True,
            **shop_config,
        },
        instance_path=str(tmp_path),
    )
    with app.app_context():
        db.create_all()
        partialpay.create_tables()
        seed(welcome_credit=welcome_credit)
        db.session.remove()

    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="shop-server", daemon=True)
    thread.start()
    try:
        yield Shop(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def stripe_webhook(shop: Shop, localstripe_data: LocalStripe) -> LocalStripe:  # noqa: F811
    """localstripe's webhook sent to this shop, signed with its secret (the module's
    ``shop_config`` points the shop's Stripe gateway at ``localstripe_data``)."""
    with shop.app.test_request_context():
        callback = url_for("partialpay_callbacks.gateway_callback", gateway_name="stripe")
    localstripe_data.register_webhook(shop.url + callback, WEBHOOK_SECRET)
    return localstripe_data


# -- the browser ----------------------------------------------------------------------


@pytest.fixture
def new_page(browser: Any, shop: Shop) -> Iterator[Callable[..., Any]]:
    """Open a page in a browser context of its own: one person, one set of cookies."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        """``options``: Playwright's context options over the defaults (a phone's
        ``viewport``, a Russian reader's ``locale`` and ``extra_http_headers``)."""
        settings = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"} | options
        context = browser.new_context(base_url=shop.url, **settings)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


# -- screenshots and accessibility -----------------------------------------------------


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshots:
    """``screenshot(page, "step")``: test-artifacts/screenshots/<test>/<nn>-<step>.png."""
    return Screenshots(ARTIFACTS / "screenshots" / artifact_name(request.node.name))


@pytest.fixture
def accessibility(request: pytest.FixtureRequest) -> Accessibility:
    """``accessibility.check(page)`` on each extension page; ``assert_clean()`` at the end."""
    path = ARTIFACTS / "axe" / f"{artifact_name(request.node.name)}.json"
    path.unlink(missing_ok=True)
    return Accessibility(report_path=path)


# -- people ---------------------------------------------------------------------------

DEMO_PASSWORDS = {
    "asha@example.com": "asha-demo",
    "ravi@example.com": "ravi-demo",
    "admin@example.com": "admin-demo",
}


@pytest.fixture
def sign_in(new_page: Callable[..., Any]) -> Callable[..., Any]:
    """``sign_in(email, **options)``: a new browser context (``options`` as for
    ``new_page``), signed in through the Sign in form."""
    from playwright.sync_api import expect

    def signed_in(email: str, **options: Any) -> Any:
        page = new_page(**options)
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORDS[email])
        page.get_by_role("main").get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name=re.compile(r"^Sign out"))).to_be_visible()
        return page

    return signed_in
