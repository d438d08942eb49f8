"""A dataset's gallery: every filter of the API in the URL, a jump to a position, keyset pages,
keyboard navigation, and flagging one image or a selection, in Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Person
from tests.datasets.helpers import add_annotations, new_category, new_dataset, new_label_set
from tests.datasets.helpers import upload as upload_image
from tests.factories import make_noise_image
from tests.web.conftest import SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]

IMAGES = 10


@pytest.fixture(scope="module")
def zoo(alice: Person) -> dict[str, Any]:
    """Ten images: 0-5 have a GT cat, 0-2 a Pred dog at conf 0.2/0.5/0.8, 6-9 nothing."""
    dataset = new_dataset(alice, "zoo")
    ids = [
        upload_image(alice, dataset["id"], make_noise_image(40, 30, seed=100 + i), f"z{i}.png")[
            "id"
        ]
        for i in range(IMAGES)
    ]
    gt = new_label_set(alice, dataset["id"], "gt", "GT")
    pred = new_label_set(alice, dataset["id"], "det", "Pred")
    cat = new_category(alice, dataset["id"], "cat")
    dog = new_category(alice, dataset["id"], "dog")
    rows: list[dict[str, Any]] = [
        {"image_id": ids[i], "label_set_id": gt, "category_id": cat, "bbox": [1, 1, 5, 5]}
        for i in range(6)
    ]
    rows += [
        {
            "image_id": ids[i],
            "label_set_id": pred,
            "category_id": dog,
            "conf": conf,
            "bbox": [2, 2, 6, 6],
        }
        for i, conf in [(0, 0.2), (1, 0.5), (2, 0.8)]
    ]
    add_annotations(alice, dataset["id"], rows)
    return {**dataset, "ids": ids, "gt": gt, "pred": pred, "cat": cat, "dog": dog}


def shown(page: Page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#gallery .tile").evaluate_all(
            "tiles => tiles.map(t => t.dataset.idx)"
        )
    ]


def test_every_filter_of_the_api_is_in_the_form_and_the_url(
    signed_in: SignIn, alice: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(alice)
    page.goto(f"/datasets/{zoo['id']}/")
    assert shown(page) == list(range(IMAGES))
    page.get_by_label("Category").select_option(label="dog")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"category={zoo['dog']}"))
    assert shown(page) == [0, 1, 2]
    page.get_by_label("Confidence from").fill("0.4")
    page.get_by_label("to", exact=True).fill("0.9")
    page.get_by_role("button", name="Show").click()
    assert shown(page) == [1, 2]
    # The URL is the view: opened afresh, it shows the same images with the same form.
    url = page.url
    again = page.context.new_page()
    again.goto(url)
    assert shown(again) == [1, 2]
    expect(again.get_by_label("Confidence from")).to_have_value("0.4")
    again.goto(f"/datasets/{zoo['id']}/?label_set={zoo['gt']}")
    assert shown(again) == [0, 1, 2, 3, 4, 5]
    again.goto(f"/datasets/{zoo['id']}/?annotated=no")
    assert shown(again) == [6, 7, 8, 9]
    expect(again.get_by_label("Annotated")).to_have_value("no")
    again.goto(f"/datasets/{zoo['id']}/?annotated=yes&label_set={zoo['pred']}")
    assert shown(again) == [0, 1, 2]


def test_a_bad_filter_is_the_422_page(
    signed_in: SignIn, alice: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(alice)
    response = page.goto(f"/datasets/{zoo['id']}/?min_conf=lots")
    assert response is not None and response.status == 422
    expect(page.get_by_text("min_conf")).to_be_visible()


def test_jump_to_a_position_and_page_by_keyset(
    signed_in: SignIn, alice: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(alice)
    page.goto(f"/datasets/{zoo['id']}/?limit=4")
    assert shown(page) == [0, 1, 2, 3]
    page.get_by_role("link", name="Next").click()
    assert shown(page) == [4, 5, 6, 7]
    page.get_by_role("link", name="Next").click()
    assert shown(page) == [8, 9]
    expect(page.locator(".pager a[rel=next]")).to_have_count(0)
    page.get_by_role("link", name="Previous").click()
    assert shown(page) == [4, 5, 6, 7]
    page.get_by_label("Jump to position").fill("5")
    page.get_by_role("button", name="Show").click()
    assert shown(page) == [5, 6, 7, 8]
    page.get_by_role("link", name="Previous").click()
    assert shown(page) == [1, 2, 3, 4]
    assert "limit=4" in page.url


def test_the_keyboard_moves_opens_and_flags(
    signed_in: SignIn, alice: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(alice)
    page.goto(f"/datasets/{zoo['id']}/?annotated=no")
    page.keyboard.press("ArrowRight")  # the first press focuses the first tile
    page.keyboard.press("ArrowRight")
    expect(page.locator(".tile.focused")).to_have_attribute("data-idx", "7")
    page.keyboard.press("2")
    expect(page.locator(".tile[data-idx='7']")).to_have_attribute("data-flag", "2")
    assert alice.http.get(f"/images/{zoo['ids'][7]}").json()["flag"] == 2
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/images/{zoo['ids'][7]}/\?annotated=no$"))
    alice.http.post(f"/images/{zoo['ids'][7]}/flag", json={"flag": 0})


def test_a_selection_is_flagged_at_once(
    signed_in: SignIn, alice: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(alice)
    page.goto(f"/datasets/{zoo['id']}/")
    page.get_by_label("Select image 3").check()
    page.keyboard.press("ArrowRight")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")  # Space selects the focused tile (#4)
    expect(page.locator("#selected-count")).to_have_text("2")
    page.get_by_role("button", name="Flag selected ✓ (1)").click()
    expect(page.locator(".tile[data-idx='3']")).to_have_attribute("data-flag", "1")
    expect(page.locator(".tile[data-idx='4']")).to_have_attribute("data-flag", "1")
    flags = [alice.http.get(f"/images/{zoo['ids'][i]}").json()["flag"] for i in range(6)]
    assert flags == [0, 0, 0, 1, 1, 0]
    page.goto(f"/datasets/{zoo['id']}/?flag=1")
    assert shown(page) == [3, 4]
    alice.http.post(
        f"/datasets/{zoo['id']}/images/flag",
        json={"image_ids": [zoo["ids"][3], zoo["ids"][4]], "flag": 0},
    )


def test_thumbnails_load_lazily_from_the_server(
    signed_in: SignIn, alice: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(alice)
    page.goto(f"/datasets/{zoo['id']}/")
    first = page.locator("#gallery img").first
    expect(first).to_have_attribute("loading", "lazy")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=first.element_handle()
    )


def test_a_reader_sees_the_gallery_without_flag_controls(
    signed_in: SignIn, alice: Person, bob: Person, zoo: dict[str, Any]
) -> None:
    alice.http.post(
        f"/datasets/{zoo['id']}/members", json={"username": bob.username, "access": "read"}
    )
    page = signed_in(bob)
    page.goto(f"/datasets/{zoo['id']}/")
    assert shown(page) == list(range(IMAGES))
    expect(page.get_by_test_id("selection")).to_have_count(0)
    alice.http.delete(f"/datasets/{zoo['id']}/members/{bob.username}")


def test_a_stranger_gets_the_404_page(
    signed_in: SignIn, charlie: Person, zoo: dict[str, Any]
) -> None:
    page = signed_in(charlie)
    response = page.goto(f"/datasets/{zoo['id']}/?category={zoo['cat']}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
