"""The host's customer directory: how the admin pages find a customer by name or email,
and where the extension's e-mails to a customer go.

The extension knows customers only by the id Flask-Login gives (``current_user.get_id()``).
A host that wants its admins to search by name or email passes an object with these two
methods as ``init_app(..., customer_directory=...)``. Without one, the admin wallet search
treats what the admin types as a customer id, and no e-mail is sent to customers
(``get`` gives the address and the language of each e-mail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CustomerInfo:
    """What the admin pages show of a customer, and where their e-mails go."""

    customer_id: str
    name: str
    #: Their address; empty: no e-mail is sent to them.
    email: str
    #: The language of their e-mails (``"es"``, ``"pt_BR"``); None:
    #: ``PARTIALPAY_DEFAULT_LOCALE``.
    locale: str | None = None


class CustomerDirectory(Protocol):
    """The host's customers, as the admin wallet pages look them up."""

    def search(self, query: str) -> list[CustomerInfo]:
        """Customers whose name or email matches ``query`` (a short list, best first)."""

    def get(self, customer_id: str) -> CustomerInfo | None:
        """The customer with this id (the one ``current_user.get_id()`` gives), if any."""
