"""localstripe, started the way the Stripe tests need it.

Run as ``python -m tests.stripe.localstripe_server --port N`` (``--port 0``: a free port the
system picks). It prints ``localstripe listening on port N`` once the socket is bound, then
serves localstripe's application unchanged except for the five additions below, each made
because the tests would otherwise exercise localstripe's limits rather than the shop:

1. **No shared state file.** localstripe pickles its whole store to
   ``/tmp/localstripe.pickle`` after every write and reloads it on start. Every localstripe on
   the machine (parallel test runs, a developer's own) would write the same file, and a run
   could start with another run's objects. Here the store lives in memory only.
2. **``setup_future_usage`` on PaymentIntents.** localstripe answers 400 "Unexpected
   setup_future_usage"; Stripe accepts ``on_session`` / ``off_session`` and saves the card
   for later. The saved-card flow sends it, so the intent accepts it, keeps it and exports it
   as Stripe does (any other value is a 400, as at Stripe).
3. **The card is attached to the customer when such an intent succeeds.** What Stripe does
   with ``setup_future_usage`` and a ``customer``: the PaymentMethod becomes the customer's,
   and the intent names the PaymentMethod's own id (a test card such as ``pm_card_visa`` is
   turned into a stored ``pm_…`` first). This happens before the ``payment_intent.succeeded``
   event is made, so the webhook carries the saved card's id, as Stripe's does.
4. **Idempotency keys.** localstripe ignores the ``Idempotency-Key`` header, so a POST sent
   again (the SDK's own retries after a dropped answer, the shop asking again for a refund
   whose answer was lost) would create a second refund or intent, where Stripe answers the
   first one's result again. Here, as at Stripe, the answer to a POST is kept by API key and
   idempotency key and replayed (with ``Idempotent-Replayed: true``) for the same key; an
   answer of 5xx or 409 is not kept (Stripe lets those be retried); ``DELETE /_config/data``
   forgets the keys with the objects.
5. **``pm_card_visa_chargeDeclined`` declines the charge.** localstripe declines its card
   (4000 0000 0000 0002) only when it is attached to a customer, and charges it; at Stripe
   the charge is declined ("Your card was declined.", ``card_declined``), which is the card
   the tests use for a decline.

Everything else (amounts, the other declines, refunds, events, webhooks) is localstripe's own.
The socket is bound to 127.0.0.1 only: the fake API never listens beyond the machine.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

FUTURE_USAGES = ("on_session", "off_session")


def keep_store_in_memory() -> None:
    """Addition 1: the store is neither written to nor read from /tmp/localstripe.pickle."""

    def no_disk(_store: Any) -> None:
        return None

    resources.Store.dump_to_disk = no_disk  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = no_disk  # type: ignore[method-assign]


def accept_setup_future_usage() -> None:
    """Additions 2 and 3, on localstripe's PaymentIntent."""
    intent_class: Any = resources.PaymentIntent
    original_init = intent_class.__init__
    original_on_success = intent_class._on_success

    def init(self: Any, *args: Any, setup_future_usage: Any = None, **kwargs: Any) -> None:
        if setup_future_usage is not None and setup_future_usage not in FUTURE_USAGES:
            raise UserError(400, "Bad request")
        original_init(self, *args, **kwargs)
        self.setup_future_usage = setup_future_usage

    def on_success(self: Any) -> None:
        if getattr(self, "setup_future_usage", None) and self.customer and self.payment_method:
            method = resources.PaymentMethod._api_retrieve(self.payment_method)
            resources.PaymentMethod._api_attach(method.id, customer=self.customer)
            self.payment_method = method.id
        original_on_success(self)

    intent_class.__init__ = init
    intent_class._on_success = on_success


def replay_idempotent_requests() -> None:
    """Addition 4: the first answer to a POST is kept by its idempotency key and replayed."""
    answers: dict[tuple[str, str], tuple[int, bytes]] = {}

    @web.middleware
    async def idempotency(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "DELETE" and request.path == "/_config/data":
            answers.clear()
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        if scope in answers:
            status, body = answers[scope]
            return web.Response(
                status=status,
                body=body,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        response = await handler(request)
        if isinstance(response, web.Response) and response.status < 500 and response.status != 409:
            body = response.body
            if isinstance(body, bytes):
                answers[scope] = (response.status, body)
        return response

    # Outermost, so that it keeps the answers localstripe's own error handler made.
    server.app.middlewares.insert(0, idempotency)


#: Cards Stripe declines when charged that localstripe charges (addition 5).
DECLINED_WHEN_CHARGED = ("4000000000000002",)


def decline_the_declined_test_card() -> None:
    """Addition 5: charging Stripe's generic-decline test card is declined."""
    method_class: Any = resources.PaymentMethod
    original = method_class._charging_is_declined

    def charging_is_declined(self: Any) -> bool:
        if getattr(self, "_card_number", None) in DECLINED_WHEN_CHARGED:
            return True
        return bool(original(self))

    method_class._charging_is_declined = charging_is_declined


def serve(port: int) -> None:
    keep_store_in_memory()
    accept_setup_future_usage()
    replay_idempotent_requests()
    decline_the_declined_test_card()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    # The fixture reads this line to learn the port (``--port 0``).
    print(f"localstripe listening on port {sock.getsockname()[1]}", flush=True)
    access_log = logging.getLogger("aiohttp.access")
    access_log.setLevel(logging.INFO)
    access_log.addHandler(logging.StreamHandler(sys.stderr))
    web.run_app(server.app, sock=sock, access_log=access_log, print=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    serve(parser.parse_args(argv).port)


if __name__ == "__main__":
    main()
