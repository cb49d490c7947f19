"""Instalment payments on an offer: policies, signed links, offer orders.

Owns the instalment policy table (:mod:`.models`) and its rules (:mod:`.policy`), the
offer catalogue protocol (:mod:`.offers`), the order opened when an offer is bought
(:mod:`.offer_orders`), the signed Buy and Complete Payment links (:mod:`.links`) and the
instalments service the host calls, ``partialpay.instalments`` (:mod:`.service`), and
an admin's waiver of an instalment (:mod:`.waivers`). It
never imports :mod:`~flask_partialpay.wallet`: the wallet balance an instalment may use
is read from the ledger.
"""
