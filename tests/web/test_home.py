"""The home page: my datasets, models, deployments and recent trainings, and the API docs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.conftest import Person
from tests.datasets.helpers import new_dataset
from tests.helpers import unique
from tests.web.conftest import SignIn
from tests.web.hub_support import push_model

pytestmark = [pytest.mark.process, pytest.mark.browser]


def test_home_lists_what_is_mine_and_links_to_it(
    signed_in: SignIn, alice: Person, charlie: Person
) -> None:
    dataset = new_dataset(alice, "home", display_name="Home photos")
    secret = new_dataset(charlie, "hidden")
    model = push_model(alice)
    deployment = unique("home-dep")
    created = alice.http.post(
        "/deployments", json={"name": deployment, "model": model, "version": 1}
    )
    assert created.status_code == 201, created.text
    training = alice.http.post("/trainings", json={"name": unique("home-training")}).json()
    alice.http.patch(f"/trainings/{training['id']}", json={"state": "RUNNING", "progress": 0.25})

    page = signed_in(alice)
    page.goto("/")
    expect(page.get_by_test_id("home-datasets")).to_contain_text("Home photos")
    expect(page.get_by_test_id("home-datasets")).not_to_contain_text(secret["name"])
    expect(page.get_by_test_id("home-models")).to_contain_text(model)
    expect(page.get_by_test_id("home-deployments")).to_contain_text(deployment)
    expect(page.get_by_test_id("home-trainings")).to_contain_text("RUNNING · 25 %")
    expect(page.get_by_role("link", name="API documentation")).to_have_attribute(
        "href", "/api/v1/docs"
    )
    page.get_by_role("link", name="Home photos").click()
    expect(page).to_have_url(f"{page.url.split('/datasets/')[0]}/datasets/{dataset['id']}/")
    page.go_back()
    page.get_by_test_id("home-deployments").get_by_role("link", name=deployment).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(deployment)


def test_the_nav_links_every_area(signed_in: SignIn, alice: Person) -> None:
    page = signed_in(alice)
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    for label, path in [
        ("Home", "/"),
        ("Datasets", "/datasets/"),
        ("Models", "/models/"),
        ("Deployments", "/deployments/"),
        ("Benchmarks", "/benchmarks/results/"),
        ("Vault", "/vault/"),
    ]:
        link = nav.get_by_role("link", name=label, exact=True)
        expect(link).to_have_attribute("href", path)
        response = page.request.get(path)
        assert response.status == 200, path
    nav.get_by_role("link", name="Datasets", exact=True).click()
    expect(nav.get_by_role("link", name="Datasets", exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_a_strangers_home_shows_nothing_of_alices(
    signed_in: SignIn, alice: Person, charlie: Person
) -> None:
    dataset = new_dataset(alice, "private")
    page = signed_in(charlie)
    page.goto("/")
    expect(page.get_by_test_id("home-datasets")).not_to_contain_text(dataset["name"])
