"""Every page under axe-core (axe-playwright-python bundles it: nothing is downloaded), at desktop
and phone sizes, in local mode with a run on the explorer: no critical and no serious violation of
the WCAG 2.0/2.1/2.2 A and AA rules. What axe found in Streamlit's own elements is mended from the
app (ui/app.css: caption and code contrast, a multiselect's target size; ui/a11y: images named by
their captions; the Lesson's code wrapped, so no scroll region is out of a keyboard's reach)."""

from __future__ import annotations

import pytest

from tests.conftest import TINY
from tests.support.harness import AppServer
from vae.training.lab import train_and_save

PAGES = ["", "train", "reconstruction", "compare", "runs", "lesson", "class_map", "classroom"]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory, mnist_cache_dir, mnist):
    runs_dir = tmp_path_factory.mktemp("a11y-runs")
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "first-run", "default")
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path_factory.mktemp("logs") / "server.log")
    yield server
    server.stop()


def serious_violations(page) -> list[tuple[str, str, list]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    return [(v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
            for v in results.response["violations"] if v["impact"] in ("critical", "serious")]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_is_clean_under_axe(a11y_server, new_page, new_phone, size):
    watcher = new_page() if size == "desktop" else new_phone()
    found = {}
    for path in PAGES:
        watcher.goto(f"{a11y_server.url}/{path}")
        watcher.wait_idle()
        violations = serious_violations(watcher.page)
        if violations:
            found[path or "explorer"] = violations
    assert found == {}
    watcher.assert_clean()
