"""The ledger audit: every invariant of the design checked over the whole ledger.

Owns the read-only check of what the layers below wrote: it reads the ledger, the orders
and payments, and (where enabled) the sandbox card processor's records, and reports what
disagrees; it never writes. :func:`audit` returns the :class:`Violation` list (empty on a
sound ledger); :func:`run_audit` the :class:`AuditReport` with the counts of what was read;
``flask partialpay audit`` runs it in one :func:`snapshot`, so that rows read by different
queries agree on a ledger that is being written to.

Each table is read once, in a query ordered by id and streamed in batches
(:mod:`.reading`), keeping only the running state of the account being read, one total per
currency and the violations found. Sums the database computes cheaply (an account's active
holds, a transfer's entries, an order's succeeded payments, a payment's refunds) come from
``GROUP BY`` subqueries joined to the streamed rows.

What it checks, by the code a :class:`Violation` carries, and where:

:mod:`.accounts` (accounts and their entries, in one pass)
    ``currency_sum``: the balances of all accounts of one currency add up to zero.
    ``balance_cache``: an account's cached balance is the sum of its entries.
    ``entry_chain``: each entry's balance before plus its amount is its balance after; an
    account's first entry starts at zero and each later one where the previous one ended
    (an edited or deleted entry breaks the chain).
    ``held_cache``: an account's cached held amount is the sum of its active holds.
    ``negative_spendable``: a wallet's spendable balance (posted minus held) is not negative.
    ``append_only`` (entries): an entry belongs to a transfer that exists, was written with
    it (same time) and after the account's entries of earlier transfers.
:mod:`.transfers`
    ``double_entry``: a transfer moves a positive amount between two different accounts of
    its currency and has exactly two entries: minus the amount on its source, plus the
    amount on its target.
    ``append_only`` (reversals): a reversal mirrors the transfer it reverses.
:mod:`.holds`
    ``hold_state``: a hold has a known status; a captured one names the transfer that took
    the captured amount from the hold's account; one that was not captured captured
    nothing; an ended one has its end time (``settled_at``); no two holds share a capture transfer.
:mod:`.idempotency`
    ``idempotency``: an idempotency key has exactly one result (a transfer or a hold) that
    exists, and no result belongs to two keys.
:mod:`.orders`
    ``order_paid``: an order's paid amount is the sum of its succeeded payments.
    ``order_reserved``: the wallet money an order holds is the sum of its pending wallet
    parts.
    ``order_refunded``: what was refunded of an order lies between zero and what was paid.
    ``order_status``: an order's stored status is what
    :func:`~flask_partialpay.payments.orders.derive_status`, the one status function, gives
    for its succeeded payments, what was waived, its closing and its completion by hand.
    ``order_overpaid``: what an order records as overpaid is what its payments exceed its
    total (less what was waived) by (each cent handled once), and wallets were credited no
    more than that for it.
:mod:`.waivers`
    ``instalment_waived``: a waived instalment is after the first payment of an order paid
    on a schedule, lets off from one minor unit to its amount and says who waived it, when
    and why; a row not waived lets off nothing; an order's waived amount is the sum of
    what its instalments let off.
:mod:`.payments`
    ``refund_total``: a payment's refunded amount is the sum of its refunds (those
    requested or made, not those the processor refused), at most the payment, and only a
    succeeded payment has refunds.
    ``wallet_part``: a wallet part's hold agrees with the part's status.
:mod:`.processor` (only where the sandbox card is enabled)
    ``charge_unrecorded``: each charge the sandbox card processor made belongs to a payment
    the shop records as succeeded, and each refund it made to a refund the shop records as
    made. A charge the shop has not recorded (its worker died, the notification is still
    being retried) is found here; ``flask partialpay reconcile`` records it.
    ``charge_missing``: each succeeded sandbox card payment has its charge at the processor
    (a payment recorded on a forged or mistaken notification has none).

:mod:`.runner` runs the checks in this order; :mod:`.report` holds what they found. The
audit stands above the wallet, instalments, sandbox and payments layers and imports only
downward. The queries run in the caller's transaction.
"""

from flask_partialpay.audit.reading import BATCH_SIZE, Progress, count_entries, snapshot
from flask_partialpay.audit.report import AuditReport, Violation
from flask_partialpay.audit.runner import audit, run_audit

__all__ = [
    "BATCH_SIZE",
    "AuditReport",
    "Progress",
    "Violation",
    "audit",
    "count_entries",
    "run_audit",
    "snapshot",
]
