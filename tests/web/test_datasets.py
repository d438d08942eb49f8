"""The datasets pages: list with covers, create, edit, members and visibility, delete after a
confirmation naming what goes, statistics; image bytes by session; strangers get 404."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Person
from tests.datasets.helpers import add_annotations, new_category, new_dataset, new_label_set
from tests.datasets.helpers import upload as upload_image
from tests.factories import make_png
from tests.helpers import unique
from tests.web.conftest import SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]

SessionOf = Callable[[Person], httpx.Client]


def filled(person: Person, images: int = 3) -> dict[str, object]:
    """A dataset of ``person`` with images, a GT box per image and a Pred label set."""
    dataset = new_dataset(person, "cats", display_name="Cats and dogs")
    ids = [
        upload_image(person, dataset["id"], make_png(80, 60, color=(30 * i, 90, 160)), f"c{i}.png")[
            "id"
        ]
        for i in range(images)
    ]
    gt = new_label_set(person, dataset["id"], "gt", "GT")
    pred = new_label_set(person, dataset["id"], "yolo", "Pred")
    cat = new_category(person, dataset["id"], "cat")
    dog = new_category(person, dataset["id"], "dog")
    add_annotations(
        person,
        dataset["id"],
        [
            *(
                {"image_id": i, "label_set_id": gt, "category_id": cat, "bbox": [5, 5, 20, 20]}
                for i in ids
            ),
            {
                "image_id": ids[0],
                "label_set_id": pred,
                "category_id": dog,
                "conf": 0.4,
                "bbox": [10, 10, 30, 30],
            },
        ],
    )
    return {**dataset, "image_ids": ids, "gt": gt, "pred": pred, "cat": cat, "dog": dog}


def test_the_list_shows_each_dataset_with_its_cover_size_and_kinds(
    signed_in: SignIn, alice: Person
) -> None:
    dataset = filled(alice)
    empty = new_dataset(alice, "empty")
    page = signed_in(alice)
    page.goto("/datasets/")
    card = page.locator(f"[data-dataset='{dataset['name']}']")
    expect(card.get_by_role("heading")).to_have_text("Cats and dogs")
    expect(card.get_by_test_id("size")).to_have_text("3 images")
    expect(card.locator(".kinds")).to_contain_text("detection")
    cover = card.locator("img.cover")
    expect(cover).to_have_attribute("src", f"/images/{dataset['image_ids'][0]}/thumbnail")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=cover.element_handle()
    )
    expect(page.locator(f"[data-dataset='{empty['name']}'] .kinds")).to_have_text("no annotations")


def test_a_person_creates_edits_and_deletes_a_dataset(signed_in: SignIn, alice: Person) -> None:
    name = unique("birds")
    page = signed_in(alice)
    page.goto("/datasets/")
    page.get_by_role("link", name="New dataset").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Display name").fill("Birds")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Birds")
    expect(page.get_by_text(f"Dataset {name} created.")).to_be_visible()

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("Garden birds, 2026")
    page.get_by_label("Visibility").select_option("public")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Garden birds, 2026")).to_be_visible()
    found = alice.http.get("/datasets", params={"name": name}).json()["items"][0]
    assert found["visibility"] == "public"
    assert found["description"] == "Garden birds, 2026"

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_test_id("what-goes")).to_contain_text("0 images")
    page.get_by_label("to confirm").fill("not-the-name")
    page.get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_text("Type the dataset's name to confirm.")).to_be_visible()
    assert alice.http.get(f"/datasets/{found['id']}").status_code == 200
    page.get_by_label("to confirm").fill(name)
    page.get_by_role("button", name=f"Delete {name}").click()
    expect(page).to_have_url(re.compile(r"/datasets/$"))
    expect(page.get_by_text(f"Dataset {name} and everything in it were deleted.")).to_be_visible()
    assert alice.http.get(f"/datasets/{found['id']}").status_code == 404


def test_the_delete_confirmation_names_what_will_be_deleted(
    signed_in: SignIn, alice: Person
) -> None:
    dataset = filled(alice)
    page = signed_in(alice)
    page.goto(f"/datasets/{dataset['id']}/delete/")
    what = page.get_by_test_id("what-goes")
    expect(what).to_contain_text("3 images")
    expect(what).to_contain_text("4 annotations")
    expect(what).to_contain_text("2 categories")
    expect(what).to_contain_text("2 label sets (gt, yolo)")


def test_a_taken_name_is_refused_on_the_form(signed_in: SignIn, alice: Person) -> None:
    taken = new_dataset(alice, "taken")
    page = signed_in(alice)
    page.goto("/datasets/new/")
    page.get_by_label("Name", exact=True).fill(taken["name"])
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("already has a dataset named")


def test_members_are_added_and_removed_and_see_the_dataset_meanwhile(
    signed_in: SignIn, other_browser: SignIn, alice: Person, bob: Person
) -> None:
    dataset = filled(alice, images=1)
    page = signed_in(alice)
    page.goto(f"/datasets/{dataset['id']}/members/")
    page.get_by_label("Username").fill(bob.username)
    page.get_by_label("Access").select_option("read")
    page.get_by_role("button", name="Add or change").click()
    expect(page.get_by_test_id("members")).to_contain_text(bob.username)

    as_bob = other_browser(bob)
    response = as_bob.goto(f"/datasets/{dataset['id']}/")
    assert response is not None and response.status == 200
    # A reader may look but not change: the edit page is the 403 page.
    response = as_bob.goto(f"/datasets/{dataset['id']}/edit/")
    assert response is not None and response.status == 403

    page.get_by_role("button", name=f"Remove {bob.username}").click()
    expect(page.get_by_test_id("members")).not_to_contain_text(bob.username)
    response = as_bob.goto(f"/datasets/{dataset['id']}/")
    assert response is not None and response.status == 404


def test_an_unknown_member_is_refused_on_the_form(signed_in: SignIn, alice: Person) -> None:
    dataset = new_dataset(alice, "lonely")
    page = signed_in(alice)
    page.goto(f"/datasets/{dataset['id']}/members/")
    page.get_by_label("Username").fill(unique("nobody"))
    page.get_by_role("button", name="Add or change").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_statistics_show_a_chart_and_a_table(signed_in: SignIn, alice: Person) -> None:
    dataset = filled(alice)
    page = signed_in(alice)
    page.goto(f"/datasets/{dataset['id']}/stats/")
    expect(page.get_by_test_id("totals")).to_contain_text("3 images")
    expect(page.get_by_test_id("totals")).to_contain_text("4 annotations")
    table = page.get_by_test_id("stats-table")
    expect(table.locator("thead")).to_contain_text("gt (GT)")
    rows = table.locator("tbody tr")
    expect(rows.nth(0).locator("td")).to_have_text(["cat", "3", "0"])
    expect(rows.nth(1).locator("td")).to_have_text(["dog", "0", "1"])
    bars = page.locator("figure.chart svg[role=img] rect")
    assert bars.count() == 4  # two categories x two label sets
    widths = [float(bars.nth(i).get_attribute("width") or 0) for i in range(4)]
    assert widths[0] > widths[3] > 0 and widths[1] == widths[2] == 0


def test_image_bytes_come_by_session_and_are_cached_for_good(
    session_of: SessionOf, alice: Person
) -> None:
    dataset = filled(alice, images=1)
    image = alice.http.get(f"/images/{dataset['image_ids'][0]}").json()  # type: ignore[index]
    client = session_of(alice)
    for path, sha256, kind in [
        (f"/images/{image['id']}/content", image["sha256"], "image/png"),
        (f"/images/{image['id']}/thumbnail", None, "image/jpeg"),
    ]:
        first = client.get(path)
        assert first.status_code == 200
        assert first.headers["Content-Type"] == kind
        assert first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        etag = first.headers["ETag"]
        if sha256:
            assert etag == f'"{sha256}"'
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""


def test_a_stranger_gets_the_404_page_everywhere(
    session_of: SessionOf, alice: Person, charlie: Person
) -> None:
    dataset = filled(alice, images=1)
    image_id = dataset["image_ids"][0]  # type: ignore[index]
    annotation = alice.http.get(f"/images/{image_id}/annotations").json()["items"][0]
    client = session_of(charlie)
    for path in [
        f"/datasets/{dataset['id']}/",
        f"/datasets/{dataset['id']}/edit/",
        f"/datasets/{dataset['id']}/delete/",
        f"/datasets/{dataset['id']}/members/",
        f"/datasets/{dataset['id']}/stats/",
        f"/images/{image_id}/",
        f"/images/{image_id}/thumbnail",
        f"/images/{image_id}/content",
        f"/annotations/{annotation['id']}/alpha",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text, path
    token = _csrf(client)
    for path, form in [
        (f"/datasets/{dataset['id']}/delete/", {"confirm_name": str(dataset["name"])}),
        (f"/datasets/{dataset['id']}/flag/", {"flag": "1", "image_ids": str(image_id)}),
        (f"/images/{image_id}/flag/", {"flag": "1"}),
        (f"/datasets/{dataset['id']}/members/", {"username": charlie.username, "access": "write"}),
    ]:
        response = client.post(path, data={**form, "csrfmiddlewaretoken": token})
        assert response.status_code == 404, path
    assert alice.http.get(f"/datasets/{dataset['id']}").status_code == 200
    assert alice.http.get(f"/images/{image_id}").json()["flag"] == 0
    assert alice.http.get(f"/datasets/{dataset['id']}/members").json() == []
    # Nor does the list show it.
    assert str(dataset["name"]) not in client.get("/datasets/").text


def _csrf(client: httpx.Client) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get("/datasets/").text)
    assert match
    return match[1]


def test_the_list_pages_by_keyset(signed_in: SignIn, make_person: Callable[..., Person]) -> None:
    from tests.web.conftest import PASSWORD

    many = make_person("many", password=PASSWORD)
    names = [new_dataset(many, "p")["name"] for _ in range(26)]
    page: Page = signed_in(many)
    page.goto("/datasets/?owner=me")
    expect(page.locator(".dataset-card")).to_have_count(24)
    expect(page.locator(".dataset-card").first).to_have_attribute("data-dataset", names[-1])
    page.get_by_role("link", name="Next").click()
    expect(page.locator(".dataset-card")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"owner=me"))
    expect(page.locator(".dataset-card").last).to_have_attribute("data-dataset", names[0])
    page.get_by_role("link", name="Previous").click()
    expect(page.locator(".dataset-card")).to_have_count(24)
