"""An image classified by ``image_id`` (and its dataset) can be deleted once its request is done;
the classification history stays, without the image link."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.inference.helpers import deploy, gray_png, upload_images


def classified(alice: Person, deployment: str, image_id: int) -> dict[str, Any]:
    """A classification of a dataset image, cancelled (it is finished)."""
    response = alice.http.post(
        "/classifications", json={"deployment": deployment, "image_id": image_id}
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["id"]
    assert alice.http.post(f"/classifications/{request_id}/cancel").status_code == 200
    found: dict[str, Any] = alice.http.get(f"/classifications/{request_id}").json()
    assert found["status"] == "cancelled" and found["image_id"] == image_id
    return found


def test_deleting_a_classified_image_keeps_its_classification(alice: Person) -> None:
    deployment = deploy(alice)
    _, [image_id] = upload_images(alice, [gray_png(200, marker=1)])
    before = classified(alice, deployment, image_id)

    assert alice.http.delete(f"/images/{image_id}").status_code == 204

    assert alice.http.get(f"/images/{image_id}").status_code == 404
    after = alice.http.get(f"/classifications/{before['id']}").json()
    assert after == {**before, "image_id": None}


def test_deleting_a_dataset_of_classified_images_keeps_their_classifications(
    alice: Person,
) -> None:
    deployment = deploy(alice)
    dataset_id, image_ids = upload_images(alice, [gray_png(10, marker=2), gray_png(250, marker=3)])
    history = [classified(alice, deployment, image_id) for image_id in image_ids]

    assert alice.http.delete(f"/datasets/{dataset_id}").status_code == 204

    assert alice.http.get(f"/datasets/{dataset_id}").status_code == 404
    for before in history:
        after = alice.http.get(f"/classifications/{before['id']}").json()
        assert after == {**before, "image_id": None}
