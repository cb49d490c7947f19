"""Which redirect targets stay on this site: the check every ``next`` goes through."""

from __future__ import annotations

import pytest

from flask_partialpay.host.redirects import safe_local_path

# Each of these leaves the site, or is read differently by a browser and by the check.
HOSTILE_TARGETS = [
    "",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example/",
    "/\r\n/evil.example/",
    "\t//evil.example/",
    " //evil.example/",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\x85/evil.example",
    "/\u200b/evil.example",
    "/\u3000/evil.example",
    "/\u2028/evil.example",
    "orders/7",
    "evil.example",
]

LOCAL_TARGETS = ["/", "/orders/7", "/partialpay/wallet?page=2", "/offers/3#buy", "/a/b/../c"]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_a_target_off_this_site_is_refused(target: str) -> None:
    assert safe_local_path(target) is None


@pytest.mark.parametrize("target", LOCAL_TARGETS)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safe_local_path(target) == target


def test_nothing_is_no_target() -> None:
    assert safe_local_path(None) is None
