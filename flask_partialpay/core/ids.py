"""Host ids at the API boundary: an offer, a customer or an order as the host has it.

Hosts keep ids as integers (``book.id``) or strings (``"INV-7"``, ``user.get_id()``); the
extension stores and signs them as strings. Every public call that takes an id passes it
through :func:`host_id`, so ``buy_link(1, ...)`` and ``buy_link("1", ...)`` make the same
link and ``set_instalment_policy(1, ...)`` sets the policy that link reads. Anything else
(a float, a bool, None where an id is needed) is a :class:`TypeError` at the call that says
what to pass, instead of a link that fails later.
"""

from __future__ import annotations

import hashlib


def host_id(value: object, what: str) -> str:
    """``value`` as the extension keeps it: a str, from a str or an int.

    ``what`` names the argument in the error (``"offer_id"``).
    """
    # bool is an int subclass, and True would silently become offer "True".
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(
            f"{what} must be a str or an int (the id as your shop has it), "
            f"not {type(value).__name__}"
        )
    # Only the type is settled here: a string that names nothing (too long, say) is looked
    # up like any other and found nowhere, as a URL's would be.
    return str(value)


def optional_host_id(value: object, what: str) -> str | None:
    """Like :func:`host_id`, with None passed through (an optional argument left out)."""
    return None if value is None else host_id(value, what)


#: What the host may pass as an id.
HostId = str | int


def request_fingerprint(*parts: object) -> str:
    """The fingerprint an idempotency key is stored with: what the request asked for.

    A repeat under the same key must ask for the same thing; a different request under it
    is a conflict, not a replay. The parts are joined with a separator no id or amount holds,
    so ("ab", "c") and ("a", "bc") differ.
    """
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
