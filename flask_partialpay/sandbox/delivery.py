"""The sandbox processor's notifications, delivered until the shop acknowledges them.

Real processors post each event to the shop's callback and post it again, with growing
delays, until the shop answers 2xx. The sandbox does the same: the first attempt right
after the charge (so a shopper usually sees the result at once), then
``flask partialpay sandbox-deliver`` (from cron, or ``--watch`` as a worker) delivers what
is due, however the shop fared the first time: a crashed worker, a deadlock, an outage.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from flask_partialpay.db.base import utcnow
from flask_partialpay.db.transactions import in_transaction
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.models import SandboxNotification

T = TypeVar("T")
#: Posts a signed notification to the shop; its answer and HTTP status.
Post = Callable[[bytes, Mapping[str, str]], tuple[str, int]]
Transaction = Callable[[Callable[[], T]], T]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    """What one round of deliveries did."""

    delivered: int = 0
    failed: int = 0
    gave_up: int = 0


def outside_shop_transaction() -> None:
    """Refuse to act for the processor inside one of the shop's transactions.

    The processor stands for another system: a call to it made while the shop holds row
    locks would block other checkouts for a network round trip, and a retry of the shop's
    transaction would repeat it.
    """
    if in_transaction():
        raise RuntimeError(
            "a payment processor was called inside a database transaction; call it before "
            "or after the transaction, with an idempotency key derived from the payment"
        )


def deliver(
    session: Session,
    transaction: Transaction[SandboxNotification],
    notification_id: int,
    post: Post,
    *,
    now: datetime | None = None,
) -> SandboxNotification:
    """Post one notification (freshly signed) and record the shop's answer."""
    outside_shop_transaction()
    event = json.loads(session.get_one(SandboxNotification, notification_id).body)
    session.commit()  # no transaction stays open while the shop handles it
    body, headers = processor.encode(event)
    try:
        answer, status = post(body, headers)
    except Exception as error:  # the shop failed to answer: the processor tries again later
        log.exception("the shop did not acknowledge event %s", event["id"])
        answer, status = type(error).__name__, 500
    when = now or utcnow()
    return transaction(
        lambda: processor.record_delivery(
            session, notification_id, status=status, answer=answer, now=when
        )
    )


def deliver_due(
    session: Session,
    transaction: Transaction[SandboxNotification],
    post: Post,
    *,
    now: datetime | None = None,
    limit: int = 500,
) -> DeliveryReport:
    """Deliver every notification whose time has come; what became of them."""
    outside_shop_transaction()
    when = now or utcnow()
    due = processor.due_notifications(session, now=when, limit=limit)
    session.commit()
    delivered = failed = gave_up = 0
    for notification_id in due:
        notification = deliver(session, transaction, notification_id, post, now=when)
        if notification.delivered_at is not None:
            delivered += 1
        elif notification.gave_up_at is not None:
            gave_up += 1
        else:
            failed += 1
    return DeliveryReport(delivered, failed, gave_up)
