"""An admin waives an instalment: the page, who may, bad input, twice, what the customer
sees, the e-mail and the signal, the audit, and the scheduler's jobs skipping it.

Asha orders the $100.00 plan offer on 31 January 2027 (25% first, then $25.00 on 28
February, 31 March and 30 April) and pays the first $25.00 by card.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from example_shop import partialpay
from example_shop.models import db
from flask_partialpay.audit import audit
from flask_partialpay.core.errors import WaiverNotAllowed
from flask_partialpay.host import signals
from flask_partialpay.instalments.models import ScheduledInstalment
from flask_partialpay.instalments.waivers import AlreadyWaived
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.plans.progress import InstalmentStatus
from flask_partialpay.scheduler import DueRun, run_due
from flask_partialpay.state import current_partialpay
from tests.conftest import Shopper, csrf_from
from tests.instalments.test_instalments import pay, pay_by_card
from tests.plans.plan_steps import (
    MONTHLY_QUARTERS,
    DayClock,
    add_offer,
    buy_in_parts,
    order,
    rows,
    set_plan,
    use_clock,
    user_id,
)

ADMIN_ORDERS = "/partialpay/admin/orders"
MY_PAYMENTS = "/partialpay/my-payments"
CONFIRMATION = "The customer will not be asked for this instalment. What they paid stays paid."
REASON = "Delivery was two weeks late"


@pytest.fixture
def shop_config() -> dict[str, Any]:
    return {"PARTIALPAY_MAIL": True, "SERVER_NAME": "shop.test"}


@pytest.fixture
def clock(app: Flask) -> DayClock:
    moving = DayClock()
    use_clock(app, moving)
    return moving


@pytest.fixture
def plan_order(app: Flask, clock: DayClock, shopper: Shopper) -> str:
    """Asha's order on the plan offer, its first $25.00 paid."""
    offer_id = add_offer("plan-waive", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    pay_by_card(shopper, reference, "25.00")
    return reference


@pytest.fixture
def waived_signals(app: Flask) -> Iterator[list[tuple[str, int, str, str, str]]]:
    sent: list[tuple[str, int, str, str, str]] = []

    def record(_app: Flask, **kw: Any) -> None:
        sent.append(
            (kw["order"].reference, kw["number"], str(kw["amount"]), kw["by"], kw["reason"])
        )

    signals.instalment_waived.committed.connect(record, sender=app)
    yield sent
    signals.instalment_waived.committed.disconnect(record, sender=app)


def page_of(reference: str) -> str:
    return f"{ADMIN_ORDERS}/{reference}"


def waive_url(reference: str, number: int) -> str:
    return f"{ADMIN_ORDERS}/{reference}/instalments/{number}/waive"


def waive(admin: Shopper, reference: str, number: int, reason: str = REASON) -> Any:
    return admin.post_form(page_of(reference), waive_url(reference, number), {"reason": reason})


def row(reference: str, number: int) -> ScheduledInstalment:
    return rows(reference)[number]


def waived_mails() -> list[MailMessage]:
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(MailMessage)
            .where(MailMessage.event == "instalment_waived")
            .order_by(MailMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def statuses(reference: str) -> list[InstalmentStatus]:
    plan = partialpay.instalments.order_plan(order(reference))
    assert plan is not None
    return [state.status for state in plan.states]


def text_of(html: str) -> str:
    """The page's words, tags taken out and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_audit_clean() -> None:
    db.session.commit()
    assert audit(db.session) == []


# -- the page --------------------------------------------------------------------------------


def test_each_unpaid_instalment_after_the_first_has_a_waive_form_saying_what_it_does(
    admin: Shopper, plan_order: str
) -> None:
    html = admin.get(page_of(plan_order)).get_data(as_text=True)

    for number in (1, 2, 3):
        assert f'action="{waive_url(plan_order, number)}"' in html
    assert waive_url(plan_order, 0) not in html  # the first payment, paid
    assert CONFIRMATION in html
    assert 'name="csrf_token"' in html and 'name="reason"' in html


def test_waiving_an_instalment_lets_the_customer_off_it_and_says_who_when_and_why(
    app: Flask,
    admin: Shopper,
    shopper: Shopper,
    plan_order: str,
    waived_signals: list[tuple[str, int, str, str, str]],
) -> None:
    response = waive(admin, plan_order, 1)

    assert response.status_code == 302
    flashed = text_of(admin.get(response.headers["Location"]).get_data(as_text=True))
    assert "Instalment 1 is waived: the customer will not be asked for $25.00." in flashed
    waived = row(plan_order, 1)
    admin_id = user_id("admin@example.com")
    assert (waived.waived, waived.waived_minor, waived.waived_by) == (True, 2500, admin_id)
    assert waived.waived_reason == REASON and waived.waived_at is not None
    account = order(plan_order)
    # The total never changes; what is owed, and so what is due, shrinks by the waiver.
    assert (account.total_minor, account.waived_minor, account.paid_minor) == (10000, 2500, 2500)
    assert (account.due_minor, account.status) == (5000, "open")
    assert partialpay.instalments.payment_range(account).maximum == Decimal("50.00")
    assert statuses(plan_order)[1] is InstalmentStatus.WAIVED
    page = text_of(admin.get(page_of(plan_order)).get_data(as_text=True))
    assert f"Waived by Shop Admin on Jan 31, 2027: {REASON}" in page
    assert waive_url(plan_order, 1) not in page
    assert waived_signals == [(plan_order, 1, "25.00", admin_id, REASON)]
    assert_audit_clean()


def test_the_customers_pages_show_the_instalment_waived(
    admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    waive(admin, plan_order, 1)

    for url in (
        f"/partialpay/orders/{plan_order}/thanks",
        f"/partialpay/orders/{plan_order}/pay",
        f"{MY_PAYMENTS}/{plan_order}",
    ):
        response = shopper.get(url)
        assert response.status_code == 200, url
        page = text_of(response.get_data(as_text=True))
        assert "Waived" in page, url
        # The next payment is instalment 2's, and what is left is $50.00.
        assert "$25.00 due on Mar 31, 2027" in page, url
    assert "Left to pay $50.00" in text_of(
        shopper.get(f"{MY_PAYMENTS}/{plan_order}").get_data(as_text=True)
    )


def test_a_partly_paid_instalment_keeps_what_was_paid_and_only_the_rest_is_waived(
    admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    pay_by_card(shopper, plan_order, "10.00")  # $10.00 of instalment 1
    page = text_of(admin.get(page_of(plan_order)).get_data(as_text=True))
    assert "$10.00 of it is paid and stays on it; $15.00 is waived" in page

    waive(admin, plan_order, 1)

    assert row(plan_order, 1).waived_minor == 1500
    account = order(plan_order)
    assert (account.paid_minor, account.waived_minor, account.due_minor) == (3500, 1500, 5000)
    plan = partialpay.instalments.order_plan(account)
    assert plan is not None
    assert [(s.paid_minor, s.left_minor) for s in plan.states] == [
        (2500, 0),
        (1000, 0),
        (0, 2500),
        (0, 2500),
    ]
    # The next payment goes to instalment 2.
    pay_by_card(shopper, plan_order, "5.00")
    plan = partialpay.instalments.order_plan(order(plan_order))
    assert plan is not None and [s.paid_minor for s in plan.states] == [2500, 1000, 500, 0]
    assert_audit_clean()


def test_waiving_all_that_is_left_completes_the_order_and_nothing_moves_in_the_ledger(
    app: Flask, admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    pay_by_card(shopper, plan_order, "25.00")  # instalment 1
    completed: list[str | None] = []

    def record(_app: Flask, **kw: Any) -> None:
        completed.append(kw["by"])

    signals.order_completed.committed.connect(record, sender=app)
    try:
        waive(admin, plan_order, 2)
        assert order(plan_order).status == "open"
        response = waive(admin, plan_order, 3)
    finally:
        signals.order_completed.committed.disconnect(record, sender=app)

    flashed = text_of(admin.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Order {plan_order} is Completed." in flashed
    account = order(plan_order)
    assert (account.status, account.total_minor, account.paid_minor) == ("completed", 10000, 5000)
    assert (account.waived_minor, account.overpaid_minor, account.due_minor) == (5000, 0, 0)
    assert completed == [user_id("admin@example.com")]
    assert [m.event_key for m in waived_mails()] == [f"{plan_order}:2", f"{plan_order}:3"]
    assert_audit_clean()


def test_a_waived_instalment_is_not_asked_for_and_paying_more_than_is_owed_is_refused(
    admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    waive(admin, plan_order, 3)
    too_much = pay(shopper, plan_order, "75.00")
    assert too_much.status_code == 200
    assert "Enter an amount from $0.01 to $50.00" in too_much.get_data(as_text=True)
    assert order(plan_order).paid_minor == 2500
    pay_by_card(shopper, plan_order, "50.00")
    assert order(plan_order).status == "completed"
    assert_audit_clean()


# -- who may, and what is refused ------------------------------------------------------------


def test_a_shopper_cannot_waive_and_unknown_orders_or_instalments_are_not_found(
    admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    page = shopper.get(f"{MY_PAYMENTS}/{plan_order}").get_data(as_text=True)
    forbidden = shopper.client.post(
        waive_url(plan_order, 1), data={"csrf_token": csrf_from(page), "reason": REASON}
    )
    assert forbidden.status_code == 403
    assert shopper.get(page_of(plan_order)).status_code == 403
    for url in (
        waive_url("no-such-order", 1),
        waive_url(plan_order, 4),
        waive_url(plan_order, 99_999_999_999),
        f"{ADMIN_ORDERS}/{plan_order}/instalments/-1/waive",
        f"{ADMIN_ORDERS}/{plan_order}/instalments/one/waive",
    ):
        response = admin.post_form(page_of(plan_order), url, {"reason": REASON})
        assert response.status_code == 404, url
    assert not any(r.waived for r in rows(plan_order))
    assert order(plan_order).waived_minor == 0


def test_a_waiver_without_the_csrf_token_is_refused(admin: Shopper, plan_order: str) -> None:
    response = admin.client.post(waive_url(plan_order, 1), data={"reason": REASON})

    assert response.status_code == 400
    assert not row(plan_order, 1).waived


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Enter the reason for waiving this instalment."),
        ("   \n ", "Enter the reason for waiving this instalment."),
        ("x" * 256, "Keep the reason to 255 characters or fewer."),
    ],
    ids=["empty", "blank", "too long"],
)
def test_a_waiver_without_a_good_reason_says_so_next_to_the_field_and_changes_nothing(
    admin: Shopper, plan_order: str, reason: str, message: str
) -> None:
    response = waive(admin, plan_order, 2, reason=reason)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<p class="pp-error" id="waive-reason-2-error" role="alert">{message}</p>' in html
    assert re.search(r'<details class="pp-waive" open>\s*<summary>Waive<span', html)
    assert not row(plan_order, 2).waived and order(plan_order).waived_minor == 0
    assert waived_mails() == []


def test_the_first_payment_and_a_paid_instalment_cannot_be_waived(
    admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    pay_by_card(shopper, plan_order, "25.00")  # instalment 1 paid

    first = waive(admin, plan_order, 0)
    page = text_of(admin.get(first.headers["Location"]).get_data(as_text=True))
    assert "The first payment cannot be waived: it opens the order." in page
    paid = waive(admin, plan_order, 1)
    page = text_of(admin.get(paid.headers["Location"]).get_data(as_text=True))
    assert "Instalment 1 is paid: there is nothing left of it to waive." in page
    assert not any(r.waived for r in rows(plan_order))
    assert order(plan_order).waived_minor == 0


def test_an_instalment_of_a_closed_order_cannot_be_waived(admin: Shopper, plan_order: str) -> None:
    decline = admin.post_form(page_of(plan_order), f"{page_of(plan_order)}/decline", {})
    assert decline.status_code == 302
    html = admin.get(page_of(plan_order)).get_data(as_text=True)
    assert waive_url(plan_order, 1) not in html

    response = waive(admin, plan_order, 1)
    page = text_of(admin.get(response.headers["Location"]).get_data(as_text=True))
    assert "Only an instalment of an open order can be waived; this order is declined." in page
    assert not row(plan_order, 1).waived


def test_waiving_twice_is_a_no_op_that_says_so(
    admin: Shopper,
    plan_order: str,
    waived_signals: list[tuple[str, int, str, str, str]],
) -> None:
    waive(admin, plan_order, 2)
    first = row(plan_order, 2)
    first_at, first_by = first.waived_at, first.waived_by

    again = waive(admin, plan_order, 2, reason="Another reason")

    page = text_of(admin.get(again.headers["Location"]).get_data(as_text=True))
    assert "Instalment 2 was already waived: nothing changed." in page
    after = row(plan_order, 2)
    assert (after.waived_at, after.waived_by, after.waived_reason) == (first_at, first_by, REASON)
    assert order(plan_order).waived_minor == 2500
    assert len(waived_mails()) == 1 and len(waived_signals) == 1
    with pytest.raises(AlreadyWaived):
        partialpay.instalments.waive(plan_order, 2, by="someone", reason="once more")


def test_the_service_refuses_a_blank_reason(plan_order: str) -> None:
    with pytest.raises(WaiverNotAllowed, match="Enter the reason"):
        partialpay.instalments.waive(plan_order, 1, by="admin", reason="  ")
    assert not row(plan_order, 1).waived


# -- the e-mail --------------------------------------------------------------------------------


def test_the_customer_is_e_mailed_once_in_their_language_with_the_reason(
    admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    shopper.post_form("/", "/language", {"language": "es", "next": "/"})

    waive(admin, plan_order, 1)

    [mail] = waived_mails()
    assert (mail.recipient, mail.locale) == ("asha@example.com", "es")
    assert mail.subject == f"Cuota condonada: pedido {plan_order}, cuota 1"
    assert REASON in mail.text and REASON in mail.html
    assert "25,00" in mail.text


def test_the_waived_e_mail_can_be_turned_off_like_the_others(
    app: Flask, admin: Shopper, plan_order: str
) -> None:
    app.config["PARTIALPAY_MAIL_EVENTS"] = ("order_completed",)

    waive(admin, plan_order, 1)

    assert row(plan_order, 1).waived
    assert waived_mails() == []


# -- the audit -----------------------------------------------------------------------------------


def _edit(statement: Any) -> None:
    db.session.execute(statement)
    db.session.commit()


def _violations() -> set[tuple[str, str]]:
    db.session.commit()
    return {(v.invariant, v.subject) for v in audit(db.session)}


def test_the_audit_flags_waivers_no_admin_could_make(admin: Shopper, plan_order: str) -> None:
    waive(admin, plan_order, 1)
    assert _violations() == set()
    first, waived = row(plan_order, 0), row(plan_order, 1)
    account = order(plan_order)

    # The first payment waived by hand.
    _edit(
        sa.update(ScheduledInstalment)
        .where(ScheduledInstalment.id == first.id)
        .values(waived=True, waived_minor=1, waived_by="x", waived_at=waived.waived_at,
                waived_reason="x")
    )  # fmt: skip
    found = _violations()
    assert ("instalment_waived", f"instalment {first.id}") in found
    assert ("instalment_waived", f"order {account.id}") in found  # 1 more let off than counted
    _edit(
        sa.update(ScheduledInstalment)
        .where(ScheduledInstalment.id == first.id)
        .values(waived=False, waived_minor=0, waived_by=None, waived_at=None, waived_reason=None)
    )
    assert _violations() == set()

    # A waived row on an order that is not paid on a schedule.
    _edit(sa.update(OrderRecord).where(OrderRecord.id == account.id).values(plan=None))
    assert ("instalment_waived", f"instalment {waived.id}") in _violations()
    _edit(sa.update(OrderRecord).where(OrderRecord.id == account.id).values(plan=account.plan))

    # The order's waived total changed by hand: its status and amount due would follow.
    _edit(sa.update(OrderRecord).where(OrderRecord.id == account.id).values(waived_minor=7500))
    found = _violations()
    assert ("instalment_waived", f"order {account.id}") in found
    assert ("order_status", f"order {account.id}") in found


# -- the scheduler's jobs --------------------------------------------------------------------------


def run() -> DueRun:
    """``flask partialpay run-due`` at the app's clock, in an app context of its own."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    outcome: list[DueRun] = []

    def command() -> None:
        with app.app_context():
            outcome.append(run_due(current_partialpay))

    db.session.commit()
    worker = threading.Thread(target=command)
    worker.start()
    worker.join(timeout=120)
    assert outcome, "run-due did not finish"
    assert all(o.ok for o in outcome[0].outcomes), outcome[0]
    db.session.commit()
    return outcome[0]


def events_for(number: int, event: str) -> list[MailMessage]:
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(MailMessage).where(
                MailMessage.event == event, MailMessage.event_key.contains(f":{number}")
            )
        )
    )


def test_run_due_neither_reminds_nor_marks_overdue_a_waived_instalment(
    clock: DayClock, admin: Shopper, plan_order: str
) -> None:
    waive(admin, plan_order, 1)

    clock.move_to(date(2027, 2, 26))  # instalment 1 falls due in 2 days
    run()
    clock.move_to(date(2027, 3, 20))  # long past its grace, and its overdue action
    run()

    waived = row(plan_order, 1)
    assert (waived.reminded_on, waived.overdue_since, waived.overdue_action_on) == (
        None,
        None,
        None,
    )
    assert events_for(1, "instalment_due") == [] and events_for(1, "instalment_overdue") == []
    # Instalment 2 (due 31 March) is reminded as usual: the jobs did run.
    clock.move_to(date(2027, 3, 29))
    run()
    assert row(plan_order, 2).reminded_on == date(2027, 3, 29)
    assert statuses(plan_order)[1:3] == [InstalmentStatus.WAIVED, InstalmentStatus.UPCOMING]
    assert plan_order not in overdue_orders(admin)


def overdue_orders(admin: Shopper) -> set[str]:
    html = admin.get(f"{ADMIN_ORDERS}?overdue=y").get_data(as_text=True)
    return set(re.findall(r"/partialpay/admin/orders/([A-Za-z0-9-]+)\"", html))


def test_after_a_partly_paid_waiver_the_lists_and_jobs_count_the_next_instalment_paid(
    clock: DayClock, admin: Shopper, shopper: Shopper, plan_order: str
) -> None:
    """$10.00 of instalment 1 paid, its other $15.00 waived, then $25.00 paid: instalment 2
    is paid ($60.00 of the $85.00 owed), though $60.00 is short of the $75.00 the first
    three instalments cost. The Overdue filter and the jobs, plain SQL over the rows,
    must take the waived part off as the schedule does."""
    pay_by_card(shopper, plan_order, "10.00")
    waive(admin, plan_order, 1)
    pay_by_card(shopper, plan_order, "25.00")
    assert statuses(plan_order)[2] is InstalmentStatus.PAID

    clock.move_to(date(2027, 4, 20))  # instalment 2 (31 March) long past its grace
    assert plan_order not in overdue_orders(admin)
    run()
    assert row(plan_order, 2).overdue_since is None
    assert events_for(2, "instalment_overdue") == []
    # Instalment 3 (30 April) is reminded: the jobs ran.
    clock.move_to(date(2027, 4, 28))
    run()
    assert row(plan_order, 3).reminded_on == date(2027, 4, 28)
    clock.move_to(date(2027, 5, 20))
    assert plan_order in overdue_orders(admin)
