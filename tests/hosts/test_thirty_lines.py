"""The third host: a small shop, and the same shop taking partial payments in 30 lines.

``thirty_lines/bare/`` is a shop of its own (users who sign in, products, a cart in the
session, orders) that knows nothing of the extension; ``thirty_lines/shop/`` is the same
shop with the wallet at checkout (the wallet part, a card for the rest) and instalment
offers behind a Buy button. Every line the second adds or changes, in its Python and its
templates, comments included, is counted: at most 30. Then the wired shop is driven over
HTTP on SQLite, PostgreSQL and MariaDB, each app on a database of its own.
"""

from __future__ import annotations

import ast
import difflib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from flask_partialpay.ledger.models import Hold
from flask_partialpay.payments.models import Payment
from tests.host.test_second_host import new_database  # noqa: F401 (a fixture)
from tests.hosts.thirty_lines import drive

HERE = Path(__file__).resolve().parent / "thirty_lines"
BARE = HERE / "bare"
SHOP = HERE / "shop"
LIMIT = 30
COUNTED = ("*.py", "*.html")


def source_files(folder: Path) -> list[str]:
    found = {str(path.relative_to(folder)) for pattern in COUNTED for path in folder.rglob(pattern)}
    return sorted(name for name in found if "__pycache__" not in name)


def wiring_diff(context: int = 0) -> tuple[list[str], int]:
    """The unified diff of shop/ against bare/ (``context`` lines around each change, as
    docs/quickstart.md shows it with 1), and how many non-blank lines it adds."""
    diff: list[str] = []
    for name in source_files(SHOP):
        bare = (BARE / name).read_text(encoding="utf-8").splitlines()
        shop = (SHOP / name).read_text(encoding="utf-8").splitlines()
        diff += difflib.unified_diff(
            bare, shop, f"bare/{name}", f"shop/{name}", n=context, lineterm=""
        )
    added = [
        line
        for line in diff
        if line.startswith("+") and not line.startswith("+++") and line[1:].strip()
    ]
    return diff, len(added)


def test_both_shops_have_the_same_files() -> None:
    assert source_files(BARE) == source_files(SHOP)
    assert "shop.py" in source_files(SHOP) and "templates/cart.html" in source_files(SHOP)


def test_the_shop_takes_partial_payments_in_at_most_thirty_lines() -> None:
    diff, added = wiring_diff()
    print("\n".join(diff))
    print(f"{added} lines added or changed for flask-partialpay")
    assert 0 < added <= LIMIT, f"{added} lines of wiring; the limit is {LIMIT}"


def test_the_count_includes_comments_and_leaves_out_blank_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare, shop = tmp_path / "bare", tmp_path / "shop"
    for folder, text in ((bare, "a = 1\n"), (shop, "a = 1\n\n# why\nb = 2\n")):
        (folder / "templates").mkdir(parents=True)
        (folder / "shop.py").write_text(text)
        (folder / "templates" / "cart.html").write_text("<p>cart</p>\n")
    monkeypatch.setattr(f"{__name__}.BARE", bare)
    monkeypatch.setattr(f"{__name__}.SHOP", shop)
    assert wiring_diff()[1] == 2


def test_the_bare_shop_knows_nothing_of_the_extension() -> None:
    for name in source_files(BARE):
        text = (BARE / name).read_text(encoding="utf-8")
        assert "partialpay" not in text.lower(), name
        if name.endswith(".py"):
            for node in ast.walk(ast.parse(text)):
                modules = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not any(m.split(".")[0] == "flask_partialpay" for m in modules), name


# -- the wired shop over HTTP ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shop() -> ModuleType:
    return drive.load_shop(SHOP)


@dataclass
class Shop:
    module: ModuleType
    app: Flask
    ids: dict[str, int]

    def client(self) -> FlaskClient:
        client = self.app.test_client()
        drive.sign_in(client)
        return client

    def balance(self) -> Decimal:
        return drive.balance(self.module, self.app, self.ids["asha"])

    def orders(self) -> list[str]:
        return drive.order_statuses(self.module, self.app)

    def audit(self) -> list[str]:
        return drive.audit_violations(self.module, self.app)

    def count(self, model: type[object]) -> int:
        with self.app.app_context():
            return int(self.module.db.session.scalar(sa.select(sa.func.count()).select_from(model)))


@pytest.fixture
def running(shop: ModuleType, new_database: Callable[[str], str]) -> Iterator[Shop]:  # noqa: F811
    app = shop.create_app(new_database("partialpay_thirty_lines"), TESTING=True)
    yield Shop(shop, app, drive.seed(shop, app))
    with app.app_context():
        shop.db.session.remove()
        for engine in shop.db.engines.values():
            engine.dispose()


def filled_cart(running: Shop) -> FlaskClient:
    """Signed in, with 2 × Tea and a Mug: €32.00, tax €3.20, total €35.20."""
    client = running.client()
    for product in ("tea", "tea", "mug"):
        drive.add_to_cart(client, running.ids[product])
    return client


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash">([^<]*)</p>', html)


def test_the_wallet_part_and_a_card_pay_the_order(running: Shop) -> None:
    client = filled_cart(running)
    page = client.get("/cart").get_data(as_text=True)
    assert "Available balance: €10.00" in page and "Via wallet" not in page
    drive.use_wallet(client)
    page = client.get("/cart").get_data(as_text=True)
    assert re.findall(r"<th>([^<]+)</th><td>([^<]+)</td>", page) == [
        ("Subtotal", "€32.00"),
        ("Tax (10%)", "€3.20"),
        ("Total", "€35.20"),
        ("Via wallet", "€-10.00"),
        ("New total to pay", "€25.20"),
    ]
    data = drive.checkout_form(client)
    card_url = drive.place_order(client, data)
    assert card_url.startswith("/partialpay/card/")
    assert "Pay €25.20" in client.get(card_url).get_data(as_text=True)
    assert running.balance() == Decimal("0.00")  # held for the order
    assert running.orders() == ["placed"]
    assert client.get("/cart").get_data(as_text=True).count("Your cart is empty.") == 1

    # The same form again (a double click, the back button): the same payment.
    assert drive.place_order(client, data) == card_url
    assert running.count(Hold) == 1 and running.count(Payment) == 2

    back = drive.pay_by_card(client, card_url, drive.SUCCESS_CARD)
    assert "Payment received. Thank you!" in client.get(back).get_data(as_text=True)
    assert running.orders() == ["paid"]  # the ready receiver
    assert running.balance() == Decimal("0.00")
    assert drive.place_order(client, data) == back  # once paid, a replay pays nothing more
    assert running.count(Payment) == 2
    assert running.audit() == []


def test_a_declined_card_gives_the_wallet_part_back(running: Shop) -> None:
    client = filled_cart(running)
    drive.use_wallet(client)
    card_url = drive.place_order(client, drive.checkout_form(client))
    assert running.balance() == Decimal("0.00")
    back = drive.pay_by_card(client, card_url, drive.DECLINED_CARD)
    assert "Your card was declined." in client.get(back).get_data(as_text=True)
    assert running.balance() == Decimal("10.00")
    assert running.orders() == ["placed"]
    assert running.audit() == []


def test_the_wallet_pays_a_cart_it_covers_without_a_card(running: Shop) -> None:
    client = running.client()
    drive.add_to_cart(client, running.ids["mug"])  # €8.00 + €0.80
    drive.use_wallet(client)
    page = client.get("/cart").get_data(as_text=True)
    assert "New total to pay</th><td>€0.00" in page and "checkout-gateway" not in page
    back = drive.place_order(client, drive.checkout_form(client))
    assert back.endswith("/thanks")
    assert running.orders() == ["paid"]
    assert running.balance() == Decimal("1.20")
    assert running.audit() == []


def test_a_choice_that_changes_the_total_is_shown_before_anything_is_charged(
    running: Shop,
) -> None:
    client = filled_cart(running)
    data = drive.checkout_form(client)  # shown without the wallet
    response = client.post("/checkout", data={**data, "wallet-use_wallet": "y"})
    assert response.location == "/cart"
    page = client.get("/cart").get_data(as_text=True)
    assert flashes(page) == [
        "Your wallet choice is applied: the total to pay is now €25.20. "
        "Check it, then place your order."
    ]
    assert running.orders() == [] and running.count(Hold) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("checkout-idempotency_key", "", "This form was changed after the page made it"),
        ("checkout-idempotency_key", "x\x00" * 10, "This form was changed after the page made it"),
        ("checkout-gateway", "", "Choose how to pay."),
        ("checkout-gateway", "stripe", "Choose how to pay."),
        ("checkout-wallet_part", "NaN", "Your wallet balance changed"),
        ("checkout-back", "//evil.example/", "Choose how to pay."),
    ],
)
def test_a_bad_checkout_form_is_refused_with_a_message(
    running: Shop, field: str, value: str, message: str
) -> None:
    client = filled_cart(running)
    data = {**drive.checkout_form(client), field: value}
    if field == "checkout-back":
        data["checkout-gateway"] = ""
    response = client.post("/checkout", data=data)
    # Back to the page the form was on; to the home page when that was not a local path.
    back = "/" if field == "checkout-back" else "/cart"
    assert response.status_code == 302 and response.location == back
    page = client.get(back).get_data(as_text=True)
    assert any(message in flashed for flashed in flashes(page)), flashes(page)
    assert running.orders() == [] and running.count(Payment) == 0


def test_an_empty_cart_places_nothing(running: Shop) -> None:
    client = filled_cart(running)
    data = drive.checkout_form(client)
    with client.session_transaction() as session:
        session.pop("cart")
    assert drive.place_order(client, data) == "/cart"
    assert flashes(client.get("/cart").get_data(as_text=True)) == ["Your cart is empty."]
    assert running.orders() == []


def test_a_course_bought_in_parts_then_completed(running: Shop) -> None:
    with running.app.app_context():
        running.module.partialpay.instalments.set_policy(
            running.ids["course"],
            allow_partial=True,
            minimum_percent=Decimal("20"),
            success_percent=None,
        )
    client = running.client()
    catalogue = client.get("/").get_data(as_text=True)
    course = catalogue[catalogue.index("Tea course") :]
    buy_url = re.search(r'href="(/partialpay/buy/[^"]+)"', course)
    assert buy_url, course
    offer_page = client.get(buy_url.group(1)).get_data(as_text=True)
    assert "Make Payment Partial" in offer_page or "€60.00" in offer_page
    pay_step = client.post(buy_url.group(1), data=drive.form_fields(offer_page, ""))
    assert pay_step.status_code == 302 and pay_step.location.endswith("/pay")
    page = client.get(pay_step.location).get_data(as_text=True)
    data = {**drive.form_fields(page, ""), "make_partial": "y", "amount": "60.00"}
    data["gateway"] = "sandbox_card"
    card_url = client.post(pay_step.location, data=data).location
    thanks = client.get(drive.pay_by_card(client, card_url, drive.SUCCESS_CARD))
    html = thanks.get_data(as_text=True)
    assert "Complete Partial Payment" in html and "€240.00" in html
    assert running.orders() == ["placed"]

    complete = re.search(r'href="([^"]+)">Complete Partial Payment', html)
    assert complete
    page = client.get(complete.group(1)).get_data(as_text=True)
    data = {**drive.form_fields(page, ""), "gateway": "sandbox_card"}
    card_url = client.post(complete.group(1), data=data).location
    assert "Pay €240.00" in client.get(card_url).get_data(as_text=True)
    drive.pay_by_card(client, card_url, drive.SUCCESS_CARD)
    assert running.orders() == ["paid"]
    assert running.audit() == []


def test_the_default_order_loader_reads_only_row_ids(running: Shop) -> None:
    client = filled_cart(running)
    drive.place_order(client, drive.checkout_form(client))
    with running.app.test_request_context():
        load = running.app.extensions["partialpay"].order_loader
        info = load("1")
        assert (info.reference, info.customer_id, info.currency, info.total) == (
            "1",
            str(running.ids["asha"]),
            "EUR",
            Decimal("35.20"),
        )
        for reference in ("01", "1e3", "-1", "+1", "１", "9" * 30, "1 ", "", "2"):
            assert load(reference) is None, reference


def test_the_same_form_posted_twice_at_once_places_one_order(running: Shop) -> None:
    client = filled_cart(running)
    drive.use_wallet(client)
    data = drive.checkout_form(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    twins = [running.app.test_client() for _ in range(2)]
    for twin in twins:
        twin.set_cookie("session", cookie.value)
    barrier = threading.Barrier(len(twins))
    found: list[str | BaseException] = []

    def submit(twin: FlaskClient) -> None:
        try:
            barrier.wait(timeout=30)
            found.append(drive.place_order(twin, data))
        except BaseException as error:  # judged below, in the test's thread
            found.append(error)

    threads = [threading.Thread(target=submit, args=(twin,)) for twin in twins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(found) == 2 and all(isinstance(url, str) for url in found), found
    assert found[0] == found[1] and str(found[0]).startswith("/partialpay/card/")
    assert running.orders() == ["placed"]
    assert running.count(Hold) == 1 and running.count(Payment) == 2
    assert running.balance() == Decimal("0.00")
    assert running.audit() == []


def course_paid_in_part(running: Shop, *, success_percent: Decimal | None) -> str:
    """The course bought with "Allow Partial Payments", €60 of €300 paid; its reference."""
    with running.app.app_context():
        running.module.partialpay.instalments.set_policy(
            running.ids["course"],
            allow_partial=True,
            minimum_percent=Decimal("20"),
            success_percent=success_percent,
        )
    client = running.client()
    catalogue = client.get("/").get_data(as_text=True)
    buy_url = re.search(
        r'href="(/partialpay/buy/[^"]+)"', catalogue[catalogue.index("Tea course") :]
    )
    assert buy_url
    offer_page = client.get(buy_url.group(1)).get_data(as_text=True)
    pay_step = client.post(buy_url.group(1), data=drive.form_fields(offer_page, "")).location
    page = client.get(pay_step).get_data(as_text=True)
    data = {**drive.form_fields(page, ""), "make_partial": "y", "amount": "60.00"}
    card_url = client.post(pay_step, data={**data, "gateway": "sandbox_card"}).location
    drive.pay_by_card(client, card_url, drive.SUCCESS_CARD)
    return str(pay_step).split("/")[-2]


def test_an_admin_declining_the_order_marks_it_declined(running: Shop) -> None:
    reference = course_paid_in_part(running, success_percent=None)
    with running.app.test_request_context():
        running.module.partialpay.orders.decline(reference, by="admin")
    assert running.orders() == ["declined"]


def test_an_admin_completing_the_order_at_the_threshold_marks_it_completed(
    running: Shop,
) -> None:
    reference = course_paid_in_part(running, success_percent=Decimal("20"))
    with running.app.test_request_context():
        running.module.partialpay.orders.complete(reference, by="admin")
    assert running.orders() == ["completed"]
