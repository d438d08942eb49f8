"""The training pages in a browser: state and progress follow the training's reports."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.conftest import Person
from tests.helpers import unique
from tests.web.conftest import SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]


def _report(person: Person, training_id: int, **body: object) -> None:
    response = person.http.patch(f"/trainings/{training_id}", json=body)
    assert response.status_code == 200, response.text


def test_a_trainings_page_follows_its_reports_without_a_reload(
    signed_in: SignIn, alice: Person
) -> None:
    name = unique("resnet")
    training = alice.http.post("/trainings", json={"name": name}).json()
    page = signed_in(alice)
    page.goto("/trainings/")
    page.get_by_role("link", name=name).click()
    state = page.locator('#training [data-field="state"]')
    percent = page.locator('#training [data-field="percent"]')
    expect(state).to_have_text("WAITING")
    _report(alice, training["id"], state="running", progress=0.25, details={"loss": 0.7})
    expect(state).to_have_text("RUNNING", timeout=15_000)
    expect(percent).to_have_text("25")
    expect(page.locator('#training [data-field="details"]')).to_contain_text('"loss": 0.7')
    _report(alice, training["id"], state="finished")
    expect(state).to_have_text("FINISHED", timeout=15_000)
    expect(percent).to_have_text("100")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_the_list_follows_every_running_training(signed_in: SignIn, alice: Person) -> None:
    first = alice.http.post("/trainings", json={"name": unique("a")}).json()
    second = alice.http.post("/trainings", json={"name": unique("b")}).json()
    page = signed_in(alice)
    page.goto("/trainings/")
    _report(alice, first["id"], progress=0.5)
    _report(alice, second["id"], state="failed")
    row = page.locator(f'tr[data-training="{first["id"]}"]')
    expect(row.locator('[data-field="percent"]')).to_have_text("50", timeout=15_000)
    expect(row.locator('[data-field="state"]')).to_have_text("RUNNING")
    other = page.locator(f'tr[data-training="{second["id"]}"] [data-field="state"]')
    expect(other).to_have_text("FAILED")


def test_a_stranger_gets_the_404_page(
    other_browser: SignIn, alice: Person, charlie: Person
) -> None:
    name = unique("private-run")
    training = alice.http.post("/trainings", json={"name": name}).json()
    page = other_browser(charlie)
    response = page.goto(f"/trainings/{training['id']}/")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    page.goto("/trainings/")
    expect(page.get_by_text(name)).to_have_count(0)
