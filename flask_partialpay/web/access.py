"""Who may see what: another shopper's payment is a 404, an admin page a 403 to a shopper."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app
from flask_login import current_user

from flask_partialpay.payments.models import Payment
from flask_partialpay.payments.queries import payment_by_public_id
from flask_partialpay.state import current_partialpay

F = TypeVar("F", bound=Callable[..., Any])


def current_customer_id() -> str | None:
    return current_user.get_id() if current_user.is_authenticated else None


def login_required_here() -> str:
    """The current customer's id; anonymous visitors go to the host's login page."""
    customer_id = current_customer_id()
    if customer_id is None:
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    return customer_id


def own_payment_or_404(public_id: str) -> Payment:
    """The payment, if it belongs to the current customer; anyone else learns nothing."""
    customer_id = login_required_here()
    payment = payment_by_public_id(current_partialpay.session, public_id)
    if payment is None or payment.customer_id != customer_id:
        abort(404)
    return payment


def admin_required(view: F) -> F:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        login_required_here()
        if not current_partialpay.is_admin(current_user._get_current_object()):
            abort(403)
        return view(*args, **kwargs)

    return cast(F, guarded)


def people_named(ids: set[str]) -> dict[str, str]:
    """Names from the host's customer directory, once per person (not once per row)."""
    directory = current_partialpay.customer_directory
    names: dict[str, str] = {}
    for person_id in ids:
        found = directory.get(person_id) if directory is not None else None
        names[person_id] = found.name if found is not None else person_id
    return names
