"""A wallet-partial checkout through the example shop's HTTP routes, under gunicorn.

The shop (``example_shop``) is served by gunicorn (``2 x CPUs + 1`` sync workers, gunicorn's
own rule of thumb) on a free loopback port, on the database being measured, with the demo
seeded and one shopper per client, each with a wallet. One checkout is what a shopper's
browser sends, CSRF tokens and cookies included: the shop page and "Add to cart" (Cotton
kurta, ₹200 + GST), the cart and "Use wallet balance" for ₹50, the cart and "Place order"
with the sandbox card, then the sandbox card page and its form with the test card that
succeeds: 8 requests. It counts as done when the card form answers with a redirect away
from the card page; the number of paid orders is checked against the count afterwards. Each
shopper is a client process of its own (``bench.harness``), as in every throughput figure.

Baseline: the sign-in page (``GET /login``, a template and a session, no ledger) at the
same client count, in requests per second (over at most 3 seconds).
"""

from __future__ import annotations

import html
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from bench.harness import WARM_UP_OPERATIONS, Client, Operation, Rate, measure

SHOPPERS_PASSWORD = "bench-shopper-password"  # noqa: S105 (a throwaway shop's accounts)
REQUESTS_PER_CHECKOUT = 8
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def shopper_email(index: int) -> str:
    return f"bench-{index}@example.com"


def seed_shop(url: str, clients: int, instance: Path) -> int:
    """Empty the database, create the shop's tables and demo, add the shoppers; the
    kurta's product id."""
    from flask_migrate import upgrade

    from example_shop import create_app, demo, partialpay
    from example_shop.models import Product, User, db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secrets.token_hex(32),
            "PARTIALPAY_SANDBOX_SECRET": secrets.token_hex(32),
        },
        instance_path=str(instance),
    )
    with app.app_context():
        demo.drop_everything()
        upgrade(revision="heads")
        demo.seed()
        for index in range(clients):
            user = User(email=shopper_email(index), name=f"Shopper {index}", is_admin=False)
            user.set_password(SHOPPERS_PASSWORD)
            db.session.add(user)
        db.session.commit()
        for index in range(clients):
            user_id = db.session.scalars(
                select(User.id).where(User.email == shopper_email(index))
            ).one()
            partialpay.state().wallets.credit(str(user_id), "1000000", "INR", reason="adjustment")
        kurta = db.session.scalars(select(Product.id).where(Product.sku == "kurta")).one()
        db.session.remove()
        db.engine.dispose()
    return int(kurta)


def paid_orders(url: str, instance: Path) -> int:
    """Orders the shop marked paid whose wallet part was captured: checkouts that happened."""
    from example_shop import create_app
    from example_shop.models import Order, db
    from flask_partialpay import Payment

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 64}, instance_path=str(instance)
    )
    with app.app_context():
        orders = db.session.scalar(select(func.count()).where(Order.status == "paid"))
        wallet_parts = db.session.scalar(
            select(func.count()).where(Payment.gateway == "wallet", Payment.status == "succeeded")
        )
        count = min(int(orders or 0), int(wallet_parts or 0))
        db.session.remove()
        db.engine.dispose()
    return int(count or 0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(url: str, instance: Path) -> Iterator[int]:
    """The example shop under gunicorn; the port it listens on."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE")}
    environment.update(
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_hex(32),
        PARTIALPAY_SANDBOX_SECRET=secrets.token_hex(32),
        # The checkout is measured as before the shop sent e-mail: the demo's e-mail files
        # would add a disk write per message to every figure.
        SHOP_MAIL="off",
    )
    workers = 2 * (os.cpu_count() or 1) + 1
    log = instance / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn)
            [
                sys.executable, "-m", "gunicorn", "--workers", str(workers),
                "--bind", f"127.0.0.1:{port}", "--no-control-socket",
                "example_shop:create_app()",
            ],
            env=environment, stdout=output, stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if Browser(port).get("/login")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


class Browser:
    """One shopper's cookies and requests (a new connection each: sync workers close it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers.get("Location", ""), text
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, str, str]:
        return self.request("GET", path)

    def post_from(self, page: str, action: str, form: dict[str, str]) -> tuple[int, str, str]:
        """Open ``page`` for its CSRF token, then post ``form`` to ``action``."""
        status, _, text = self.get(page)
        if status != 200:
            raise RuntimeError(f"GET {page}: {status}")
        return self.request("POST", action, {"csrf_token": _csrf(text), **form})


def _csrf(page: str) -> str:
    found = _CSRF.search(page)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1) or found.group(2)


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', page
    )
    if found is None:
        raise RuntimeError(f"no field {name} on the page")
    return html.unescape(found.group(1))


def _path(location: str) -> str:
    return re.sub(r"^https?://[^/]+", "", location)


def checkout_client(port: int, kurta: int) -> Client:
    """Shoppers checking out, each in a client process of its own (``bench.harness``)."""
    return partial(_checkout_client, port, kurta)


@contextmanager
def _checkout_client(port: int, kurta: int, index: int) -> Iterator[Operation]:
    browser = Browser(port)
    status, _, _ = browser.post_from(
        "/login", "/login", {"email": shopper_email(index), "password": SHOPPERS_PASSWORD}
    )
    if status != 302:
        raise RuntimeError(f"shopper {index} could not sign in: {status}")

    def checkout(_number: int) -> None:
        status, _, _ = browser.post_from("/", f"/cart/add/{kurta}", {"quantity": "1"})
        _expect(status, "add to cart")
        status, _, _ = browser.post_from(
            "/cart", "/cart",
            {"wallet-amount": "50", "wallet-use_wallet": "y", "wallet-apply": "Apply"},
        )  # fmt: skip
        _expect(status, "use wallet")
        _, _, cart = browser.get("/cart")
        status, card, _ = browser.request(
            "POST", "/checkout",
            {
                "csrf_token": _csrf(cart), "gateway": "sandbox_card",
                "key": _field(cart, "key"), "wallet": _field(cart, "wallet"),
            },
        )  # fmt: skip
        _expect(status, "place order")
        card = _path(card)
        if "/partialpay/card/" not in card:
            raise RuntimeError(f"place order went to {card}, not the card page")
        status, after, _ = browser.post_from(
            card, card, {"card_number": "4242 4242 4242 4242", "expiry": "12/39", "cvc": "123"}
        )
        _expect(status, "pay by card")
        if _path(after) == card:
            raise RuntimeError("the card page answered with itself")

    yield checkout


def login_page_client(port: int) -> Client:
    """Visitors reading the sign-in page, each in a client process of its own."""
    return partial(_login_page_client, port)


@contextmanager
def _login_page_client(port: int, _index: int) -> Iterator[Operation]:
    browser = Browser(port)

    def page(_number: int) -> None:
        _expect(browser.get("/login")[0], "GET /login", wanted=200)

    yield page


def _expect(status: int, step: str, *, wanted: int = 302) -> None:
    if status != wanted:
        raise RuntimeError(f"{step}: HTTP {status}")


def measure_checkouts(
    url: str, instance: Path, clients_list: list[int], seconds: float
) -> list[tuple[int, Rate, Rate, int]]:
    """For each client count: (clients, checkouts, GET /login, paid orders in the shop)."""
    instance.mkdir(parents=True, exist_ok=True)
    kurta = seed_shop(url, max(clients_list), instance)
    found = []
    with gunicorn(url, instance) as port:
        for clients in clients_list:
            before = paid_orders(url, instance)
            done = measure(checkout_client(port, kurta), clients, seconds)
            # Each shopper's warm-up checkout is paid too, before the clock starts.
            paid = paid_orders(url, instance) - before - clients * WARM_UP_OPERATIONS
            # A reference for the server's request rate: a few seconds are enough.
            baseline = measure(login_page_client(port), clients, min(seconds, 3.0))
            found.append((clients, done, baseline, paid))
    return found
