"""The labeling pages in a real Chromium: a box and a polygon drawn with the mouse are saved
with the image coordinates they were drawn at; undo, categories by keyboard, review by
keyboard; a stranger gets 404 for every labeling page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Person, PersonFactory
from tests.datasets.helpers import new_dataset, upload
from tests.factories import make_noise_image
from tests.labeling.support import create_project, images_of, init_project, ok, tasks_of
from tests.web.conftest import PASSWORD, SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]

WIDTH, HEIGHT = 200, 100


@pytest.fixture(scope="module")
def labeler(make_person: PersonFactory) -> Person:
    return make_person("labeler", password=PASSWORD)


@pytest.fixture(scope="module")
def reviewer(make_person: PersonFactory) -> Person:
    return make_person("reviewer", password=PASSWORD)


@pytest.fixture(scope="module")
def task(alice: Person, labeler: Person, reviewer: Person) -> dict[str, Any]:
    dataset = new_dataset(alice, "pages")
    upload(alice, dataset["id"], make_noise_image(WIDTH, HEIGHT, seed=7), "wide.png")
    project = create_project(alice, [dataset["id"]], [alice], ["cat", "dog"])
    init_project(alice, project["id"], batch_size=0, label_times=1, review_times=1)
    (made,) = tasks_of(alice, project["id"])
    # Dogs get two keypoints in this dataset, joined by the skeleton.
    (dog,) = [c for c in ok(alice.http.get(f"/datasets/{dataset['id']}/categories"))["items"]
              if c["name"] == "dog"]  # fmt: skip
    spec = {"keypoint_names": ["head", "tail"], "keypoint_skeleton": [[1, 2]]}
    ok(alice.http.patch(f"/categories/{dog['id']}", json=spec))
    labeling = alice.client.labeling
    labeling.set_leader(made["id"], "label_leader", alice.username)
    labeling.set_leader(made["id"], "review_leader", alice.username)
    labeling.set_workers(made["id"], "labeler", [labeler.username])
    labeling.set_workers(made["id"], "reviewer", [reviewer.username])
    return {**made, "image": images_of(alice, made["id"])[0]["id"]}


def _screen(page: Page) -> Callable[[float, float], tuple[float, float]]:
    """Image pixel → viewport point of the workspace's image as it is shown."""
    box = page.locator("#ws-image").bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT

    return at


def _saved_annotations(labeler: Person, task: dict[str, Any]) -> list[dict[str, Any]]:
    image = ok(labeler.http.get(f"/label-tasks/{task['id']}/images/{task['image']}"))
    (label,) = image["labels"]
    return label["annotations"]  # type: ignore[no-any-return]


def test_a_box_and_a_polygon_drawn_with_the_mouse_are_saved_in_image_coordinates(
    signed_in: SignIn, labeler: Person, task: dict[str, Any]
) -> None:
    page = signed_in(labeler)
    page.goto(f"/labeling/tasks/{task['id']}/")
    page.get_by_test_id("open-workspace").click()
    expect(page.locator("#ws[data-ready=true]")).to_be_visible()
    at = _screen(page)
    state = page.get_by_test_id("save-state")

    page.mouse.move(*at(20, 10))
    page.mouse.down()
    page.mouse.move(*at(70, 35), steps=4)
    page.mouse.move(*at(120, 60), steps=4)
    page.mouse.up()
    expect(state).to_have_text("saved")
    (box,) = _saved_annotations(labeler, task)
    assert box["category"] == "cat"
    assert box["bbox"] == pytest.approx([20, 10, 100, 50], abs=0.5)

    page.keyboard.press("Escape")  # nothing selected: the key below picks the next category
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in ((150, 20), (190, 20), (170, 80)):
        page.mouse.click(*at(x, y))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("annotation")).to_have_count(2)
    expect(state).to_have_text("saved")
    box, polygon = _saved_annotations(labeler, task)
    assert polygon["category"] == "dog"
    assert polygon["bbox"] is None
    assert polygon["segmentation"][0] == pytest.approx([150, 20, 190, 20, 170, 80], abs=0.5)

    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("annotation")).to_have_count(1)
    expect(state).to_have_text("saved")
    assert [a["bbox"] is not None for a in _saved_annotations(labeler, task)] == [True]

    # The saved label is what the workspace shows when it is opened again.
    page.reload()
    expect(page.locator("#ws[data-ready=true]")).to_be_visible()
    expect(page.get_by_test_id("annotation")).to_have_count(1)


def test_keypoints_are_placed_one_click_each_in_the_order_of_their_names(
    signed_in: SignIn, labeler: Person, task: dict[str, Any]
) -> None:
    page = signed_in(labeler)
    page.goto(f"/labeling/tasks/{task['id']}/label/{task['image']}/")
    expect(page.locator("#ws[data-ready=true]")).to_be_visible()
    at = _screen(page)
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    page.keyboard.press("k")
    expect(page.get_by_test_id("keypoint-hint")).to_contain_text("head")
    page.mouse.click(*at(30, 70))
    expect(page.get_by_test_id("keypoint-hint")).to_contain_text("tail")
    page.mouse.click(*at(60, 80))
    expect(page.get_by_test_id("annotation")).to_have_count(2)
    expect(page.get_by_test_id("save-state")).to_have_text("saved")
    box, dog = _saved_annotations(labeler, task)
    assert box["bbox"] == pytest.approx([20, 10, 100, 50], abs=0.5)
    assert dog["category"] == "dog"
    assert dog["keypoints"] == pytest.approx([30, 70, 2, 60, 80, 2], abs=0.5)
    assert dog["bbox"] == pytest.approx([30, 70, 30, 10], abs=0.5)
    expect(page.locator("#ws-overlay line")).to_have_count(1)  # the skeleton


def test_a_reviewer_accepts_a_label_by_keyboard(
    other_browser: SignIn, reviewer: Person, alice: Person, task: dict[str, Any]
) -> None:
    page = other_browser(reviewer)
    page.goto(f"/labeling/tasks/{task['id']}/review/")
    expect(page.locator("#ws[data-ready=true]")).to_be_visible()
    expect(page.locator("#ws-overlay rect")).to_have_count(2)  # the box, and the dog's extent
    page.keyboard.press("a")
    expect(page.get_by_text("Review saved: accept")).to_be_visible()
    image = ok(alice.http.get(f"/label-tasks/{task['id']}/images/{task['image']}"))
    assert image["status"] == "accepted"
    assert [r["action"] for r in image["labels"][0]["reviews"]] == ["accept"]
    assert ok(alice.http.get(f"/label-tasks/{task['id']}"))["status"] == "reviewing"


def test_the_manager_sees_progress_and_accepts_the_task_from_its_page(
    signed_in: SignIn, alice: Person, task: dict[str, Any]
) -> None:
    page = signed_in(alice)
    page.goto("/labeling/")
    page.get_by_role(
        "link", name=ok(alice.http.get(f"/label-projects/{task['project_id']}"))["name"]
    ).click()
    expect(page.get_by_test_id("people")).to_contain_text("labeler")
    page.goto(f"/labeling/tasks/{task['id']}/")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("task-status")).to_have_text("accepted")


def test_a_stranger_gets_404_for_every_labeling_page(
    session_of: Callable[[Person], httpx.Client],
    charlie: Person,
    alice: Person,
    task: dict[str, Any],
) -> None:
    client = session_of(charlie)
    t, i = task["id"], task["image"]
    for path in (
        f"/labeling/projects/{task['project_id']}/",
        f"/labeling/tasks/{t}/",
        f"/labeling/tasks/{t}/label/",
        f"/labeling/tasks/{t}/label/{i}/",
        f"/labeling/tasks/{t}/review/{i}/",
        f"/labeling/tasks/{t}/images/{i}/content",
    ):
        assert client.get(path).status_code == 404, path
    save = client.post(f"/labeling/tasks/{t}/images/{i}/label", json={"annotations": []})
    assert save.status_code in (403, 404)  # CSRF refuses it before the view, or the view 404s
    name = ok(alice.http.get(f"/label-projects/{task['project_id']}"))["name"]
    listing = client.get("/labeling/")
    assert listing.status_code == 200
    assert name not in listing.text
