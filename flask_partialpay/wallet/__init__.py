"""The customer wallet: balance, statement, checkout part, top-ups, overpayments.

Owns the wallet service (:mod:`.wallets`), the wallet part of a checkout or an instalment
(:mod:`.parts`), top-ups (:mod:`.topups`), overpayments credited to the wallet
(:mod:`.overpayments`), the wallet line in the host's cart (:mod:`.checkout`) and the
checkout service the host calls, ``partialpay.checkout`` (:mod:`.checkout_service`),
statement wording (:mod:`.statements`) and what the wallet does when a payment settles
(:mod:`.settlement`). It never imports :mod:`~flask_partialpay.instalments`.
"""
