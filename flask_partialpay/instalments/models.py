"""The instalment policy table: per offer, whether it may be paid in parts and its minimum.

Read and written through :mod:`.policy`; an order placed through a Buy link copies the
policy, so later changes to the offer leave orders already placed alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow


class InstalmentPolicy(PartialPayModel):
    """An offer's "Allow Partial Payments" settings, keyed by the host's offer id.

    Percentages are stored in hundredths of a percent (1% is 100), so 12.5% is exact.
    """

    __tablename__ = "partialpay_offer_policy"

    offer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    allow_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    minimum_basis_points: Mapped[int] = mapped_column(Integer, default=0)
    # None: the order can only be completed by paying it in full.
    success_basis_points: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
