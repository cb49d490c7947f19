"""In Chromium: the pages' scripts run under their Content-Security-Policy, no page can
frame a payment page, and the session cookie is Secure, HttpOnly and SameSite=Lax."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from browser_steps import COURSE, admin_nav_to, expect, fill_cart


def watch_policy(page: Any) -> list[str]:
    """The Content-Security-Policy violations Chromium reports on ``page``, as they come."""
    reported: list[str] = []
    page.on(
        "console",
        lambda message: (
            reported.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return reported


def test_the_admin_pages_scripts_run_under_the_policy(
    sign_in: Callable[..., Any],
) -> None:
    admin = sign_in("admin@example.com")
    violations = watch_policy(admin)
    admin_nav_to(admin, "Offers")
    admin.get_by_role("link", name=f"Additional settings of {COURSE}").click()
    minimum = admin.get_by_label("Percentage of Minimum Partial Payment")
    works_out = admin.get_by_role("paragraph").filter(has_text="Works out to:").nth(0)
    admin.get_by_label("Allow Partial Payments").check()  # the script shows the fields
    expect(minimum).to_be_visible()
    for typed, shown in [("2", r"\$100\.00"), ("٥", "–"), ("12.500", r"\$625\.00"), ("1e1", "–")]:
        minimum.fill(typed)
        expect(works_out).to_have_text(re.compile(rf"Works out to:\s*{shown}"))

    # The orders list opens an order from anywhere on its row (its script too).
    asha = sign_in("asha@example.com")
    fill_cart(asha)
    asha.get_by_label("Bank transfer").check()
    asha.get_by_role("button", name="Place order").click()
    admin_nav_to(admin, "Orders and Sales")
    admin.get_by_role("row").nth(1).get_by_role("cell").nth(1).click()
    expect(admin).to_have_url(re.compile(r"/partialpay/admin/orders/\d+$"))
    assert violations == []


def test_no_page_can_frame_the_card_page(
    sign_in: Callable[..., Any],
) -> None:
    asha = sign_in("asha@example.com")
    fill_cart(asha)
    asha.get_by_label("Card (sandbox)").check()
    asha.get_by_role("button", name="Place order").click()
    expect(asha.get_by_role("heading", name="Pay by card", level=1)).to_be_visible()
    card_page = asha.url
    # A page that frames it. Served at the shop's own origin: frame-ancestors 'none' refuses
    # every parent, and another origin would be refused for other reasons (Chromium keeps
    # public pages from framing 127.0.0.1), which would prove nothing.
    framer = re.sub(r"(https?://[^/]+)/.*", r"\1/a-page-that-frames-it", card_page)
    asha.route(
        framer,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<!doctype html><title>Win a prize</title><iframe src="{card_page}"></iframe>',
        ),
    )
    asha.goto(framer)
    framed = framed_page_url(asha)
    # Chromium refused to show it: the frame holds its error page, not the card form.
    assert framed.startswith("chrome-error://"), framed
    expect(asha.frame_locator("iframe").get_by_label("Card number")).to_have_count(0)


def framed_page_url(page: Any) -> str:
    """Where the page's one frame ended up, once it has loaded something."""
    for _ in range(100):
        frames = [frame for frame in page.frames if frame is not page.main_frame]
        if frames and frames[0].url not in ("", "about:blank"):
            frames[0].wait_for_load_state()
            return str(frames[0].url)
        page.wait_for_timeout(100)
    raise AssertionError("the frame loaded nothing")


def test_the_session_cookie_is_secure_http_only_and_same_site_lax(
    sign_in: Callable[..., Any],
) -> None:
    asha = sign_in("asha@example.com")  # over http://127.0.0.1, which Chromium trusts
    session = next(c for c in asha.context.cookies() if c["name"] == "session")
    assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Lax")
