"""Real-browser fixtures (see harness.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.harness import PageWatcher, launch_chromium


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium_path)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield lambda: PageWatcher(context.new_page())
    context.close()


# A phone as a student holds it (what the QR code opens): its screen, touch, a mobile browser.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def new_phone(browser):
    """Each call: a page in a phone of its own (its own cookies: another student)."""
    contexts = []

    def open_phone() -> PageWatcher:
        contexts.append(browser.new_context(**PHONE, accept_downloads=True))
        return PageWatcher(contexts[-1].new_page())

    yield open_phone
    for context in contexts:
        context.close()
