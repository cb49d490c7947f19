"""Instalment payments on an offer: policies, signed links, offer orders.

Owns the instalment policy table (:mod:`.models`) and its rules (:mod:`.policy`), the
offer catalogue protocol (:mod:`.offers`), the order opened when an offer is bought
(:mod:`.offer_orders`), the signed Buy and Complete Payment links (:mod:`.links`) and the
instalments service (:mod:`.api`). It never imports :mod:`~flask_partialpay.wallet`.
"""
