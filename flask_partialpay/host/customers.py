"""The host's customer directory: how the admin pages find a customer by name or email.

The extension knows customers only by the id Flask-Login gives (``current_user.get_id()``).
A host that wants its admins to search by name or email passes an object with these two
methods as ``init_app(..., customer_directory=...)``. Without one, the admin wallet search
treats what the admin types as a customer id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CustomerInfo:
    """What the admin pages show of a customer."""

    customer_id: str
    name: str
    email: str


class CustomerDirectory(Protocol):
    """The host's customers, as the admin wallet pages look them up."""

    def search(self, query: str) -> list[CustomerInfo]:
        """Customers whose name or email matches ``query`` (a short list, best first)."""

    def get(self, customer_id: str) -> CustomerInfo | None:
        """The customer with this id (the one ``current_user.get_id()`` gives), if any."""
