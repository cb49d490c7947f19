"""Orders and their payments: the lifecycle every gateway shares.

Owns the order records and payment tables (:mod:`.models`), the order's counters and
status (:mod:`.orders`, their only writer), what may be paid now (:mod:`.due`,
:mod:`.plan_range`), the payment lifecycle (:mod:`.lifecycle`), gateway events
(:mod:`.events`), refunds (:mod:`.refunds`, :mod:`.order_refunds`), closing an order
(:mod:`.closing`), admin decisions (:mod:`.decisions`), calls to gateways outside the
transaction (:mod:`.gateway_calls`), the notification inbox (:mod:`.notifications`),
reconciliation (:mod:`.reconcile`), the order service the host calls,
``partialpay.orders`` (:mod:`.service`), what follows a payment's outcome (:mod:`.settlement`)
and the gateway protocol, registry and built-in gateways (:mod:`.gateways`). It imports
the ledger and the layers below, never :mod:`~flask_partialpay.wallet` or
:mod:`~flask_partialpay.instalments`.
"""
