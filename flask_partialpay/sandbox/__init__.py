"""The sandbox card processor: a stand-in payment processor for demos and tests.

Optional: its tables live on their own metadata (:mod:`.models`) and Alembic branch, and
an app has them only when ``"sandbox_card"`` is in ``PARTIALPAY_GATEWAYS``. Owns the card
gateway (:mod:`.card`), the processor (:mod:`.processor`) and its notification deliveries
(:mod:`.delivery`).
"""
