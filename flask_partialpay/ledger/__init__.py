"""The double-entry ledger: the only code that changes a balance.

Owns the ledger accounts, transfers, entries and holds (:mod:`.models`), moving money
between accounts and placing, capturing and releasing holds (:mod:`.transfers`, on top of
:mod:`.wallet_rows`, :mod:`.one_statement`, :mod:`.idempotency_keys`, :mod:`.accounts`
and :mod:`.system_accounts`), the customer wallet's credits, debits and holds
(:mod:`.wallet_accounts`) and which currencies a wallet may hold
(:mod:`.wallet_currencies`). Every other layer that moves
money calls these functions; none writes a balance or an entry itself.
"""
