"""Where a page may send the browser next: a path on this site, never anywhere else.

A ``next`` parameter, a host's ``return_url``, a language switcher's "back to this page":
each comes from outside and ends up in a ``Location`` header. Browsers and the servers
that write that header forgive a lot: they drop tabs and line breaks inside a URL, read a
backslash as a slash, and take ``//host`` as another site. So ``/\\t/evil.example/``
passes a naive "starts with one slash" check and is sent as ``//evil.example/``. The one
check here refuses anything that is not plainly a path of this site.

Hosts should use it for their own ``next`` parameters too (``example_shop/auth.py`` does).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import abort

from flask_partialpay.core.errors import ConfigurationError

# No link of ours is longer; it also bounds the header a hostile target could produce.
MAX_TARGET_LENGTH = 2048

# Control characters (C0, DEL, C1), invisible format characters (zero-width spaces,
# direction marks) and every kind of space or line separator: browsers strip or reinterpret
# them, so a target holding one may not mean what it looks like.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_LINE_BREAKS = ("\r", "\n")


def safe_local_path(target: str | None, *, max_length: int = MAX_TARGET_LENGTH) -> str | None:
    """``target`` when it is a path on this site that is safe to redirect to, else None.

    Refused: nothing, anything that does not start with exactly one ``/`` (absolute and
    scheme-relative URLs, ``javascript:``, relative paths), any backslash, any control,
    format or white-space character, and anything longer than ``max_length``.
    """
    if not target or len(target) > max_length:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def requested_target(target: str | None) -> str | None:
    """The page a request asks to go back to (its ``next``), or None to use the default.

    A ``next`` holding a line break is no link of ours but an attempt to write headers:
    the request is answered 400 Bad Request. Call this before the view changes anything,
    so that such a request changes nothing.
    """
    if target and any(char in target for char in _LINE_BREAKS):
        abort(400)
    return safe_local_path(target)


def require_return_path(return_url: str, *, max_length: int) -> str:
    """A host's ``return_url`` for a payment, or :class:`ConfigurationError` if it is not
    a safe path on this site: the shopper is redirected there after paying."""
    if safe_local_path(return_url, max_length=max_length) is None:
        raise ConfigurationError(
            "return_url must be a path on this site such as /orders/7: one leading slash, "
            f"no backslash, control characters or spaces, at most {max_length} characters."
        )
    return return_url
