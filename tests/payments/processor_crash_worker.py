"""A shop worker that dies between the card processor's charge and its own commit.

Run as ``python -m tests.payments.processor_crash_worker <database url> <instance folder> <payment
public id>`` (the folder holds the shop's generated secrets, shared with the test): it
submits the sandbox card page's charge for the payment, and is killed (SIGKILL, as the
kernel's OOM killer or a deploy would) inside the shop's transaction that records the
processor's notification, after the processor committed the charge.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import sqlalchemy as sa

from example_shop import create_app, partialpay
from example_shop.models import db
from flask_partialpay import Payment
from flask_partialpay.host import signals

SUCCESS_CARD = "4242424242424242"


def die(sender: Any, **kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(database_url: str, instance_path: str, public_id: str) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url},
        instance_path=instance_path,
    )
    with app.app_context():
        signals.payment_succeeded.connect(die, weak=False)
        payment = db.session.scalars(sa.select(Payment).where(Payment.public_id == public_id)).one()
        gateway = partialpay.state().gateway("sandbox_card")
        gateway.charge_card(payment, SUCCESS_CARD)  # type: ignore[attr-defined]
    sys.exit("the worker was meant to die while recording the payment")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
