"""Real-browser fixtures (see harness.py)."""

from __future__ import annotations

import pytest

from tests.support.harness import STARTED_SERVERS, launch_chromium
from tests.support.programs import program_or_skip
from tests.support.warm_pages import WarmPages


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


@pytest.fixture(scope="session")
def warm_pages(browser):
    return WarmPages(browser)


def pages_of_a_kind(warm_pages, kind: str):
    """Each call: a page in a browser context of its own (its own cookies: another person), handed
    back at the test's end (tests/support/warm_pages.py)."""
    taken = []

    def open_one():
        taken.append(warm_pages.take(kind))
        return taken[-1]

    yield open_one
    for watcher in taken:
        warm_pages.give_back(watcher)


@pytest.fixture
def new_page(warm_pages):
    """Each call: a desktop browser's page, 1400 × 1000."""
    yield from pages_of_a_kind(warm_pages, "desktop")


@pytest.fixture
def new_phone(warm_pages):
    """Each call: a phone's page (390 × 844, touch)."""
    yield from pages_of_a_kind(warm_pages, "phone")


@pytest.fixture(scope="session")
def english_only_words():
    from tests.test_language import english_words_not_in_spanish

    return english_words_not_in_spanish()


TAIL_CHARS = 2_000


def tail(text: str) -> str:
    return text if len(text) <= TAIL_CHARS else "…" + text[-TAIL_CHARS:]


def what_the_pages_show(browser, warm_pages: WarmPages | None) -> str:
    """Each open page's address, script state, what its console said (if a test holds it) and last
    words: what a person would have seen at the failure."""
    said = {id(watcher.page): watcher.errors for watcher in (warm_pages.held() if warm_pages else [])}
    shown = []
    for context in browser.contexts:
        for page in context.pages:
            if page.url == "about:blank":  # a page waiting for its next test
                continue
            try:
                state = page.evaluate("() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState")
                errors = "".join(f"console: {error}\n" for error in said.get(id(page), []))
                shown.append(f"--- {page.url} (script {state})\n{errors}{tail(page.inner_text('body', timeout=5_000))}")
            except Exception as error:  # noqa: BLE001 - a page closing under us says so and the rest are shown
                shown.append(f"--- {page.url}: unreadable ({error})")
    return "\n".join(shown)


def what_the_servers_wrote(started_before: int) -> str:
    """The log of every server this test started, and of every one still running (a fixture's)."""
    servers = [server for number, server in enumerate(STARTED_SERVERS)
               if number >= started_before or server.process.poll() is None]
    return "\n".join(f"--- {server.log_path}\n{tail(server.log_path.read_text(errors='replace'))}"
                     for server in servers if server.log_path.exists())


SERVERS_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test shows, in CI's output, what its pages showed and its servers logged then."""
    if call.when == "setup":
        item.stash[SERVERS_BEFORE] = len(STARTED_SERVERS)
    report = yield
    if report.when == "call" and report.failed:
        browser = item.funcargs.get("browser")
        if browser is not None:
            shown = what_the_pages_show(browser, item.funcargs.get("warm_pages"))
            report.sections.append(("what the pages showed", shown))
        report.sections.append(("what the servers logged", what_the_servers_wrote(item.stash.get(SERVERS_BEFORE, 0))))
    return report
