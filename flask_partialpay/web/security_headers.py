"""Response headers that keep the pages where money moves from being framed or scripted.

A page where a shopper pays or an admin confirms a payment must not load inside another
site's frame (a "Pay" or "Confirm" click could be stolen by an invisible overlay), and must
run only the scripts it ships as files (no inline script, so injected markup cannot run
code). The extension sends these headers with every page of its shopper and admin
blueprints; a host adds :func:`add_security_headers` to its own app to send them
everywhere (``example_shop`` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from werkzeug.wrappers import Response

from flask_partialpay.host.config import setting


def add_security_headers(response: Response) -> Response:
    """An ``after_request`` function: adds each header the response does not carry yet.

    ``X-Frame-Options: DENY`` (for browsers that predate ``frame-ancestors``),
    ``Content-Security-Policy`` (``PARTIALPAY_CONTENT_SECURITY_POLICY``; None sends none),
    ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` (signed Buy
    links are not passed on to other sites). A header already set is kept.
    """
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    policy = setting("CONTENT_SECURITY_POLICY")
    if policy:
        headers.setdefault("Content-Security-Policy", str(policy))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def widened_policy(policy: str, allowed: Mapping[str, Sequence[str]]) -> str:
    """``policy`` with more sources allowed for some directives (one page's needs).

    A directive the policy lacks starts from its ``default-src``, so that allowing one
    origin for frames does not allow every other source ``default-src`` refused.
    """
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    default = directives.get("default-src", [])
    for name, sources in allowed.items():
        present = directives.setdefault(name, list(default))
        if "'none'" in present:
            present.remove("'none'")  # 'none' beside a source would be ignored or refused
        present.extend(source for source in sources if source not in present)
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())
