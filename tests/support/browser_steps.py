"""Browser steps shared by the UI benchmarks."""

import time
from pathlib import Path

from tests.support.harness import PageWatcher


def server_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def set_training_form(watcher: PageWatcher, epochs: int, images: int, hidden: int | None = None) -> None:
    """On the Train page: default preset, then the given epochs, training images and hidden units."""
    page = watcher.page
    page.get_by_text("Hyperparameters").click()
    fields = [("Epochs", epochs), ("Training images", images)] + ([("Hidden units", hidden)] if hidden else [])
    for label, value in fields:
        watcher.fill("spinbutton", label, value)


def train_through_ui(watcher: PageWatcher, timeout_s: float = 600) -> None:
    """Press Start training and wait until the run is saved (the live panel refreshes meanwhile)."""
    page = watcher.page
    alerts = page.locator('[data-testid="stAlert"]')
    before = alerts.first.inner_text() if alerts.count() else ""
    page.get_by_role("button", name="Start training").click()
    # A small run can finish before its progress bar is ever drawn: wait for a new "saved" message.
    # Checked twice a second: Playwright's default polls on every animation frame, which keeps a
    # headless chromium busy (~30 % of a core measured) and would be charged to the app.
    page.wait_for_function(
        """(before) => [...document.querySelectorAll('[data-testid="stAlert"]')]
               .some(a => a.innerText.includes('saved: test') && a.innerText !== before)""",
        arg=before, timeout=timeout_s * 1000, polling=500)
    watcher.wait_idle()
    time.sleep(0.5)
