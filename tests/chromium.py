"""Debian's Chromium through Playwright, one browser for the whole run.

Playwright's sync API runs an event loop of its own in the thread that starts it, and a
second ``sync_playwright()`` while the first is open fails ("Sync API inside the asyncio
loop"): so every folder that drives a browser (``tests/browser``, ``tests/stripe``) uses
this one session-wide fixture, made available to all by ``tests/conftest.py``.

Without Playwright or the browser the tests are skipped; with
``PARTIALPAY_REQUIRE_BROWSER=1`` (as in CI) that fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

REQUIRE_BROWSER = os.environ.get("PARTIALPAY_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("PARTIALPAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(message: str) -> NoReturn:
    if REQUIRE_BROWSER:
        pytest.fail(message + " and PARTIALPAY_REQUIRE_BROWSER=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the whole run."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as error:
            unavailable(f"Chromium at {CHROMIUM} does not start: {error}")
        try:
            yield chromium
        finally:
            chromium.close()
