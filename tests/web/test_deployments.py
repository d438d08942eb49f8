"""The deployment pages in a browser: live statistics that refresh without a reload, and
"classify an image" answered by a real worker process running a tiny ONNX model."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.conftest import LiveServer, Person, PersonFactory
from tests.helpers import unique
from tests.inference.helpers import deploy, gray_png, upload_images
from tests.web.conftest import PASSWORD, SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]


@pytest.fixture(scope="module")
def fleet(make_person: PersonFactory) -> Person:
    """The account of the worker processes (it may claim work)."""
    return make_person("fleet", worker=True, password=PASSWORD)


StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(server: LiveServer, tmp_path: Path) -> Iterator[StartWorker]:
    """``start_worker(account, site=…, flavor=…, deployment=…)``: a ``visionhub worker``
    process (serving every deployment unless one is named), stopped (SIGTERM) at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        account: Person, *, site: str, flavor: str, deployment: str | None = None
    ) -> subprocess.Popen[bytes]:
        name = unique("w")
        command = [
            *(sys.executable, "-m", "visionhub", "worker", "--server", server.url),
            *("--token", account.token, "--name", name, "--site", site, "--flavor", flavor),
            *("--cache-dir", str(tmp_path / f"cache-{name}"), "--batch", "4"),
            *("--concurrency", "1", "--threads", "1", "--claim-wait", "2"),
            *(("--deployment", deployment) if deployment else ()),
        ]
        with (tmp_path / f"{name}.log").open("wb") as out:
            started.append(
                subprocess.Popen(command, env=server.env, stdout=out, stderr=subprocess.STDOUT)
            )
        return started[-1]

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def worker_process(start_worker: StartWorker, fleet: Person) -> subprocess.Popen[bytes]:
    """One worker at site ``ifca`` on flavor ``m1.small``, serving every deployment."""
    return start_worker(fleet, site="ifca", flavor="m1.small")


def test_the_statistics_refresh_while_requests_arrive(signed_in: SignIn, alice: Person) -> None:
    name = deploy(alice, replication=2, quorum=2)
    page = signed_in(alice)
    page.goto("/deployments/")
    page.get_by_role("link", name=name).click()
    expect(page.locator("#replication")).to_contain_text("2 workers classify each request")
    expect(page.locator("#quorum")).to_contain_text("2 identical answers accept it")
    pending = page.locator('#stats [data-status="pending"] .n')
    expect(pending).to_have_text("0")
    files = {"file": ("a.png", gray_png(200, marker=1), "image/png")}
    response = alice.http.post("/classifications", data={"deployment": name}, files=files)
    assert response.status_code == 202, response.text
    expect(pending).to_have_text("1", timeout=20_000)  # redrawn by the page, not reloaded
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_an_uploaded_image_is_answered_by_the_fleet(
    signed_in: SignIn, alice: Person, worker_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    name = deploy(alice)
    image = tmp_path / "bright.png"
    image.write_bytes(gray_png(230, marker=2))
    page = signed_in(alice)
    page.goto(f"/deployments/{name}/")
    page.get_by_label("Upload an image").set_input_files(image)
    page.get_by_role("button", name="Classify", exact=True).click()
    expect(page).to_have_url(re.compile(r"/classifications/\d+/$"))
    expect(page.locator('[data-field="status"]')).to_have_text("completed", timeout=60_000)
    expect(page.locator('[data-field="label"]')).to_have_text("bright")
    rows = page.locator("#scores tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td").first).to_have_text("bright")
    page.get_by_role("link", name=name).click()
    workers = page.locator("#workers")
    expect(workers).to_contain_text("ifca")
    expect(workers).to_contain_text("m1.small")
    expect(page.locator('#stats [data-status="completed"] .n')).to_have_text("1")


def test_an_image_picked_from_a_dataset_is_answered(
    signed_in: SignIn, alice: Person, worker_process: subprocess.Popen[bytes]
) -> None:
    name = deploy(alice)
    dataset_id, _ = upload_images(alice, [gray_png(20, marker=3), gray_png(240, marker=4)])
    page = signed_in(alice)
    page.goto(f"/deployments/{name}/")
    page.locator("#pick-dataset select").select_option(str(dataset_id))
    page.get_by_role("button", name="Show its images").click()
    thumbnail = page.locator(".pick img").first
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    page.get_by_label("img-0.png").check()
    page.get_by_role("button", name="Classify the picked image").click()
    expect(page.locator('[data-field="label"]')).to_have_text("dark", timeout=60_000)


def test_a_stranger_gets_the_404_page(
    other_browser: SignIn, alice: Person, charlie: Person
) -> None:
    name = deploy(alice)
    files = {"file": ("a.png", gray_png(100, marker=5), "image/png")}
    request_id = alice.http.post("/classifications", data={"deployment": name}, files=files).json()[
        "id"
    ]
    page: Page = other_browser(charlie)
    for url in (f"/deployments/{name}/", f"/classifications/{request_id}/"):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        expect(page.locator("h1")).to_have_text("Not found")
    page.goto("/deployments/")
    expect(page.get_by_text(name)).to_have_count(0)


def test_live_workers_show_their_site_flavor_and_agreement_rate(
    signed_in: SignIn,
    alice: Person,
    fleet: Person,
    make_person: PersonFactory,
    start_worker: StartWorker,
) -> None:
    name = deploy(alice, replication=2, quorum=2)
    ifca, cesnet = unique("ifca"), unique("cesnet")  # workers of earlier tests may still be live
    start_worker(fleet, site=ifca, flavor="m1.small", deployment=name)
    start_worker(
        make_person("fleet", worker=True), site=cesnet, flavor="hpc.8core", deployment=name
    )
    page = signed_in(alice)
    page.goto(f"/deployments/{name}/")
    for marker in range(3):
        files = {"file": ("a.png", gray_png(240, marker=100 + marker), "image/png")}
        assert (
            alice.http.post("/classifications", data={"deployment": name}, files=files).status_code
            == 202
        )
    expect(page.locator('#stats [data-status="completed"] .n')).to_have_text("3", timeout=60_000)
    workers = page.locator("#workers tbody tr")
    for site, flavor in ((ifca, "m1.small"), (cesnet, "hpc.8core")):
        row = workers.filter(has_text=site)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(flavor)
        expect(row.locator("td").nth(7)).to_have_text("100 %")  # both agreed on every vote
