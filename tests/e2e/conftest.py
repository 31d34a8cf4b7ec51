"""Real-browser fixtures (see harness.py)."""

from __future__ import annotations

import pytest

from tests.support.class_room import PHONE
from tests.support.harness import PageWatcher, launch_chromium
from tests.support.programs import program_or_skip


@pytest.fixture(scope="session")
def chromium_path():
    return program_or_skip("chromium", "chromium")


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


@pytest.fixture(scope="session")
def english_only_words():
    from tests.test_language import english_words_not_in_spanish

    return english_words_not_in_spanish()
