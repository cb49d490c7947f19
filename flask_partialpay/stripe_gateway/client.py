"""Every call the extension makes to Stripe, through one SDK client per app.

Two rules hold here, for every call:

* never while :func:`flask_partialpay.db.transactions.run_in_transaction` runs a unit of
  work: a round trip to Stripe under the shop's row locks would block every other
  checkout of the order, and a deadlock's retry would make the call again (charging
  twice, were the call not keyed);
* each call that creates or changes something at Stripe carries an idempotency key
  derived from the shop's own ids, so that the SDK's retries after a timeout
  (``max_network_retries``) and the shop's own retries reach one object.

Stripe's SDK is imported when the first call is made, never at import: the extension
loads without it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from flask import current_app

from flask_partialpay.db.transactions import in_transaction

if TYPE_CHECKING:
    import stripe

T = TypeVar("T")

#: Retries the SDK makes on a dropped connection, a 409 or a 5xx, under the same key.
MAX_NETWORK_RETRIES = 2
#: How many of the latest calls :attr:`StripeApi.calls` remembers (a long-running app
#: must not keep them all).
CALLS_KEPT = 200


class StripeApi:
    """The app's Stripe client, built at its first call from the ``PARTIALPAY_STRIPE_*`` keys."""

    def __init__(self) -> None:
        self._client: stripe.StripeClient | None = None
        self._http_client: stripe.HTTPClient | None = None
        self._lock = threading.Lock()
        #: ``(method, path)`` of the latest calls made, in order (the tests count them).
        self.calls: deque[tuple[str, str]] = deque(maxlen=CALLS_KEPT)

    def use_http_client(self, client: stripe.HTTPClient | None) -> None:
        """Send the calls through ``client`` (tests answer from recorded responses)."""
        with self._lock:
            self._http_client = client
            self._client = None

    def _stripe(self) -> stripe.StripeClient:
        with self._lock:
            if self._client is None:
                self._client = _new_client(self._http_client)
            return self._client

    def _call(self, method: str, path: str, action: Callable[[stripe.StripeClient], T]) -> T:
        if in_transaction():
            raise RuntimeError(
                f"Stripe was called ({method} {path}) inside a database transaction: call "
                "it before the transaction or after its commit, never under row locks."
            )
        self.calls.append((method, path))
        return action(self._stripe())

    # -- PaymentIntents -------------------------------------------------------------------

    def create_payment_intent(
        self, params: dict[str, Any], *, idempotency_key: str
    ) -> stripe.PaymentIntent:
        return self._call(
            "POST",
            "/v1/payment_intents",
            lambda client: client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            ),
        )

    def retrieve_payment_intent(self, intent_id: str) -> stripe.PaymentIntent:
        return self._call(
            "GET",
            f"/v1/payment_intents/{intent_id}",
            lambda client: client.v1.payment_intents.retrieve(intent_id),
        )

    def cancel_payment_intent(
        self, intent_id: str, *, idempotency_key: str
    ) -> stripe.PaymentIntent:
        return self._call(
            "POST",
            f"/v1/payment_intents/{intent_id}/cancel",
            lambda client: client.v1.payment_intents.cancel(
                intent_id, options={"idempotency_key": idempotency_key}
            ),
        )

    # -- refunds --------------------------------------------------------------------------

    def create_refund(self, params: dict[str, Any], *, idempotency_key: str) -> stripe.Refund:
        return self._call(
            "POST",
            "/v1/refunds",
            lambda client: client.v1.refunds.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            ),
        )

    def refunds_of(
        self, *, payment_intent: str | None = None, charge: str | None = None
    ) -> Iterator[stripe.Refund]:
        """The refunds of a PaymentIntent or a charge, newest first, every page."""
        params: dict[str, Any] = {"limit": 100}
        if payment_intent is not None:
            params["payment_intent"] = payment_intent
        if charge is not None:
            params["charge"] = charge
        page = self._call(
            "GET",
            "/v1/refunds",
            lambda client: client.v1.refunds.list(params),  # type: ignore[arg-type]
        )
        return self._pages(page)

    # -- events ---------------------------------------------------------------------------

    def events_since(self, created_from: int) -> Iterator[stripe.Event]:
        """Every event Stripe created at or after ``created_from`` (a Unix time), every page."""
        page = self._call(
            "GET",
            "/v1/events",
            lambda client: client.v1.events.list({"created": {"gte": created_from}, "limit": 100}),
        )
        return self._pages(page)

    def _pages(self, page: stripe.ListObject[Any]) -> Iterator[Any]:
        # Each next page is a call of its own, under the same rule.
        while True:
            yield from page.data
            if not page.has_more or not page.data:
                return
            page = self._call("GET", page.url, _next_page_of(page))


def _next_page_of(page: stripe.ListObject[Any]) -> Callable[[stripe.StripeClient], Any]:
    return lambda _client: page.next_page()


def _new_client(http_client: stripe.HTTPClient | None) -> stripe.StripeClient:
    import stripe

    config = current_app.config
    api_base = config["PARTIALPAY_STRIPE_API_BASE"]
    return stripe.StripeClient(
        config["PARTIALPAY_STRIPE_SECRET_KEY"],
        base_addresses={"api": api_base} if api_base else None,
        stripe_version=config["PARTIALPAY_STRIPE_API_VERSION"],
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=http_client,
    )
