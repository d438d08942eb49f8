"""Pictures for people: the main pages of the demo's data, photographed in Chromium.

The test runs ``visionhub demo --serve`` (its own home and SQLite file), signs in through the
login page with the login the demo prints, opens the pages as a person would (by their links)
and saves a PNG of each. ``make screenshots`` runs it with ``VISIONHUB_SCREENSHOTS_DIR`` set to
``docs/screenshots``; otherwise the pictures go to a temporary folder and are only checked, so
that the pages the README shows keep working.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from tests.helpers import free_port

from visionhub.demo.run import ADMIN, ADMIN_PASSWORD, DEPLOYMENT, MODEL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.process,
    pytest.mark.browser,
    pytest.mark.embedded_default,
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``visionhub demo --serve`` on a free port, once its summary says it is running."""
    home = tmp_path_factory.mktemp("demo-home")
    log = home / "demo.log"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VISIONHUB_") and k != "DJANGO_SETTINGS_MODULE"
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "visionhub", "demo", "--serve", "--home", str(home),
             "--port", str(port)],
            env={**env, "COLUMNS": "200"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 1200
        while "VisionHub is running" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not come up:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(1)
        text = log.read_text(errors="replace")
        url = f"http://127.0.0.1:{port}"
        assert f"web UI   : {url}/" in text
        assert f"sign in as {ADMIN} / {ADMIN_PASSWORD}" in text
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("VISIONHUB_SCREENSHOTS_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snap(page: Page, folder: Path, name: str) -> Path:
    page.wait_for_load_state("networkidle")
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def test_the_main_pages_of_the_demo_are_photographed(
    chromium: Browser, demo: str, pictures: Path
) -> None:
    context = chromium.new_context(base_url=demo, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ADMIN)
    taken = [snap(page, pictures, "home")]

    page.get_by_role("link", name="Datasets", exact=True).first.click()
    taken.append(snap(page, pictures, "datasets"))
    page.locator("[data-dataset='digits-test'] h2 a").click()
    expect(page.locator("#gallery .tile").first).to_be_visible()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#gallery img')).slice(0, 12)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    taken.append(snap(page, pictures, "gallery"))
    page.locator("#gallery .tile a").nth(3).click()
    expect(page.locator("body")).to_have_attribute("data-viewer-ready", "yes")
    taken.append(snap(page, pictures, "viewer"))
    page.get_by_role("link", name="Gallery").click()
    page.get_by_role("link", name="Statistics").click()
    taken.append(snap(page, pictures, "dataset-statistics"))

    page.get_by_role("link", name="Models", exact=True).first.click()
    page.get_by_role("link", name=MODEL).first.click()
    taken.append(snap(page, pictures, "model"))
    page.get_by_role("link", name="Deployments", exact=True).first.click()
    page.get_by_role("link", name=DEPLOYMENT, exact=True).first.click()
    taken.append(snap(page, pictures, "deployment-statistics"))
    page.get_by_role("link", name="Benchmarks", exact=True).first.click()
    taken.append(snap(page, pictures, "benchmark-results"))
    context.close()

    for path in taken:
        with Image.open(path) as picture:
            assert picture.size == (1440, 900), path
            colours = picture.convert("RGB").getcolors(maxcolors=1_000_000) or []
            assert len(colours) > 50, f"{path.name} looks blank"
