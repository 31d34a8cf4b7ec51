"""Browser pages handed from test to test, each in a browser context (a cookie jar) of its own.

A page's first visit to a server costs chromium about 2.5 times the CPU of a later visit to the
same server: a renderer compiles Streamlit's JavaScript once per address and keeps it
(benchmarks/browser_visit_cost.py, "a new context per visit" against "a page handed back"). Most
browser tests open pages on a server their module shares, each in a new context: handing a page
back instead of closing it pays that once per server rather than once per test.

Handed back, a page is made as a new context's would be: it goes to about:blank (its Streamlit
session ends: Playwright's chromium keeps no back-forward cache), its cookies and every origin's
storage are cleared and its window gets its size back. Only the compiled code and the HTTP cache
stay, as a returning visitor's browser keeps them. A page that a test changed beyond what that
undoes (an init script, a route, an exposed function, emulated media, offline, another page in
its context) is closed with its context instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support.class_room import PHONE
from tests.support.harness import PageWatcher

DESKTOP = {"viewport": {"width": 1400, "height": 1000}}
KINDS = {"desktop": DESKTOP, "phone": PHONE}

# What a test can set on a page or its context that about:blank and clearing storage do not undo.
LASTING = {"page": ("add_init_script", "route", "route_from_har", "route_web_socket", "expose_function",
                    "expose_binding", "emulate_media", "set_extra_http_headers"),
           "context": ("add_init_script", "route", "route_from_har", "route_web_socket", "expose_function",
                       "expose_binding", "set_extra_http_headers", "set_offline", "grant_permissions",
                       "set_geolocation")}
# Every origin's storage but its cookies, which clear_cookies() takes for the whole context.
STORAGE = "local_storage,session_storage,indexeddb,service_workers,cache_storage,file_systems,websql"


@dataclass(eq=False)
class KeptPage:
    watcher: PageWatcher
    kind: str
    origins: set[str] = field(default_factory=set)  # where it went: their storage is cleared
    changed: bool = False  # a test set something lasting on it


class WarmPages:
    """Pages by kind ("desktop", "phone") for one browser; `take` gives one no test holds."""

    def __init__(self, browser):
        self.browser = browser
        self.idle: dict[str, list[KeptPage]] = {kind: [] for kind in KINDS}
        self.handed_out: dict[int, KeptPage] = {}

    def take(self, kind: str) -> PageWatcher:
        kept = self.idle[kind].pop() if self.idle[kind] else self._new(kind)
        kept.watcher.errors = []
        self.handed_out[id(kept.watcher)] = kept
        return kept.watcher

    def _new(self, kind: str) -> KeptPage:
        context = self.browser.new_context(**KINDS[kind], accept_downloads=True)
        kept = KeptPage(PageWatcher(context.new_page()), kind)
        page = kept.watcher.page
        page.on("framenavigated", lambda frame: kept.origins.add(origin_of(frame.url)))
        for target, names in ((page, LASTING["page"]), (context, LASTING["context"])):
            for name in names:
                setattr(target, name, marking_changed(kept, getattr(target, name)))
        return kept

    def held(self) -> list[PageWatcher]:
        """The pages tests hold now."""
        return [kept.watcher for kept in self.handed_out.values()]

    def give_back(self, watcher: PageWatcher) -> None:
        kept = self.handed_out.pop(id(watcher))
        page = watcher.page
        if not kept.changed and not page.is_closed() and page.context.pages == [page] and self._reset(kept):
            self.idle[kept.kind].append(kept)
        else:
            with contextlib.suppress(Exception):  # a context the test closed itself
                page.context.close()

    @staticmethod
    def _reset(kept: KeptPage) -> bool:
        from playwright.sync_api import Error as PlaywrightError

        page = kept.watcher.page
        try:
            page.goto("about:blank")
            page.context.clear_cookies()
            storage = page.context.new_cdp_session(page)
            for origin in kept.origins - {""}:
                storage.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": STORAGE})
            storage.detach()
            page.set_viewport_size(KINDS[kept.kind]["viewport"])
        except PlaywrightError:
            return False
        kept.origins.clear()
        return True


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""


def marking_changed(kept: KeptPage, method):
    def call(*args, **kwargs):
        kept.changed = True
        return method(*args, **kwargs)

    return call
