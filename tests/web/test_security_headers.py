"""Pages where money moves are never framed and run no inline script; the shop's session
cookie is Secure (outside debug), HttpOnly and SameSite=Lax."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import create_app, partialpay
from example_shop.demo import seed
from example_shop.models import Order, db
from flask_partialpay import PartialPay, Payment
from tests.conftest import Shopper
from tests.instalments.test_instalments import link, open_offer, pay_by_card, pay_step
from tests.unit.test_security_header_settings import bare_host

# Headers do not depend on the database: SQLite is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FOLDERS = [
    ROOT / "flask_partialpay" / "templates",
    ROOT / "example_shop" / "templates",
]


SANDBOX_AND_MANUAL = ("sandbox_card", "manual")


def assert_protected(response: Any) -> None:
    url = response.request.path
    assert response.headers.get("X-Frame-Options") == "DENY", url
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("frame-ancestors") == ["'none'"], (url, policy)
    assert directives.get("script-src") == ["'self'"], (url, policy)
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, url
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url


def test_the_pages_a_shopper_pays_on_are_protected(app: Flask, shopper: Shopper) -> None:
    shopper.add_to_cart("notebook")
    card_page = shopper.checkout("sandbox_card").location
    payment = db.session.scalars(sa.select(Payment)).one()
    order = db.session.scalars(sa.select(Order)).one()
    buy = link(app)
    pages = [
        card_page,
        f"/partialpay/payments/{payment.public_id}",
        "/partialpay/wallet",
        buy,
        "/cart",
        f"/orders/{order.number}",
    ]
    reference = open_offer(shopper, buy)
    pages.append(pay_step(reference))
    pay_by_card(shopper, reference, "50")
    pages.append(f"/partialpay/orders/{reference}/thanks")
    for page in pages:
        response = shopper.get(page)
        assert response.status_code == 200, page
        assert_protected(response)


def test_a_refused_page_and_a_post_are_protected_too(shopper: Shopper) -> None:
    assert_protected(shopper.get("/partialpay/payments/no-such-payment"))  # 404
    shopper.add_to_cart("notebook")
    card_page = shopper.checkout("sandbox_card").location
    answer = shopper.pay_card(card_page, "4242 4242 4242 4242")
    assert answer.status_code == 302
    assert_protected(answer)


def test_the_admin_pages_are_protected(admin: Shopper) -> None:
    for page in [
        "/partialpay/admin/payments",
        "/partialpay/admin/orders",
        "/partialpay/admin/offers",
        "/partialpay/admin/settings",
        "/partialpay/admin/wallets",
        "/admin/orders",
    ]:
        response = admin.get(page)
        assert response.status_code == 200, page
        assert_protected(response)


def test_the_shops_own_pages_are_protected(client: Any) -> None:
    for page in ["/", "/login", "/landing/course"]:
        assert_protected(client.get(page))


def test_the_admin_scripts_are_files_of_the_extension(admin: Shopper) -> None:
    for name in ("admin_offer_settings.js", "admin_orders.js"):
        with admin.get(f"/partialpay/static/{name}") as response:
            assert response.status_code == 200
            assert response.mimetype in ("text/javascript", "application/javascript")
            assert_protected(response)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.I)


@pytest.mark.parametrize(
    "template",
    [path for folder in TEMPLATE_FOLDERS for path in sorted(folder.rglob("*.html"))],
    ids=lambda path: path.relative_to(ROOT).as_posix(),
)
def test_no_template_has_an_inline_script_or_style(template: Path, backend: str) -> None:
    # The pages' policy (script-src and style-src 'self') would block them in the browser.
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "move the script to a file under static/"
    assert not INLINE_HANDLER.search(text), "attach the handler from a script file"
    assert "javascript:" not in text.lower()
    if "mail" in template.relative_to(ROOT).parts:
        # E-mails are read in mail programs, which keep no stylesheet of the shop's and
        # drop <link>: their styles are inline by necessity, and no page serves them.
        return
    assert not INLINE_STYLE.search(text), "move the style to the stylesheet"


def test_gateway_callbacks_are_not_pages(app: Flask) -> None:
    response = app.test_client().post("/partialpay/gateways/sandbox_card/callback", data=b"{}")
    assert response.status_code == 400
    # The shop sends the headers everywhere; the extension's callback blueprint does not
    # add its own, which is what a bare host sees.
    bare, database = bare_host()
    PartialPay(bare, database)
    answer = bare.test_client().post("/partialpay/gateways/sandbox_card/callback", data=b"{}")
    assert "X-Frame-Options" not in answer.headers


# -- the example shop's cookies ---------------------------------------------------------


@pytest.fixture
def shop_in(tmp_path: Path) -> Iterator[Any]:
    """The example shop, made with ``config`` as ``make demo`` runs it (no testing mode)."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        folder = tmp_path / str(len(made))
        shop = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shop.sqlite'}", **config},
            instance_path=str(folder),
        )
        with shop.app_context():
            db.create_all()
            partialpay.create_tables()
            seed(welcome_credit=False)
            db.session.remove()
        made.append(shop)
        return shop

    yield make
    for shop in made:
        with shop.app_context():
            db.engine.dispose()


def session_cookie_after_signing_in(shop: Flask) -> str:
    shopper = Shopper(shop.test_client())
    page = shopper.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    response = shopper.client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": "asha@example.com", "password": "asha-demo"},
    )
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    return cookies[0]


def flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_the_session_cookie_is_secure_http_only_and_lax(shop_in: Any, backend: str) -> None:
    shop = shop_in()
    assert not shop.debug
    cookie = flags(session_cookie_after_signing_in(shop))
    assert {"secure", "httponly", "samesite=lax"} <= cookie
    assert shop.config["REMEMBER_COOKIE_SECURE"] is True
    assert shop.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert shop.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_in_debug_mode_the_session_cookie_also_works_over_plain_http(
    shop_in: Any, backend: str
) -> None:
    shop = shop_in(DEBUG=True)
    cookie = flags(session_cookie_after_signing_in(shop))
    assert "secure" not in cookie
    assert {"httponly", "samesite=lax"} <= cookie
