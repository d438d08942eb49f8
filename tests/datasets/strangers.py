"""The datasets rows of the stranger matrix (``tests/strangers.py``): alice's private dataset."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.datasets.helpers import new_category, new_dataset, new_label_set, upload
from tests.factories import make_noise_image, make_png
from tests.strangers import Hidden, Open, Row

PNG = {"file": ("x.png", make_png(8, 8), "image/png")}
BROWSE = "datasets/test_access.py"


def world(alice: Person, admin: Person) -> dict[str, Any]:
    dataset = new_dataset(alice, "private")
    image = upload(alice, dataset["id"], make_noise_image(24, 16, seed=7))
    category = new_category(alice, dataset["id"], "cat")
    label_set = new_label_set(alice, dataset["id"])
    created = alice.http.post(
        f"/images/{image['id']}/annotations",
        json={"annotations": [{"label_set_id": label_set, "category_id": category}]},
    )
    assert created.status_code == 201, created.text
    annotation = created.json()["annotations"][0]["id"]
    alpha = alice.http.post(
        f"/annotations/{annotation}/alpha",
        files={"file": ("a.png", make_png(24, 16), "image/png")},
    )
    assert alpha.status_code == 200, alpha.text
    return {
        "dataset_id": dataset["id"],
        "image_id": image["id"],
        "sha256": image["sha256"],
        "category_id": category,
        "label_set_id": label_set,
        "annotation_id": annotation,
        "username": alice.username,
    }


def annotation(world: dict[str, Any]) -> dict[str, Any]:
    return {
        "annotations": [
            {
                "image_id": world["image_id"],
                "label_set_id": world["label_set_id"],
                "category_id": world["category_id"],
            }
        ]
    }


def LABEL_SET(world: dict[str, Any]) -> dict[str, Any]:
    return {"label_set": world["label_set_id"]}


D = "/datasets/{dataset_id}"
ROWS: list[Row] = [
    Open("POST", "/datasets", "makes charlie's own dataset", BROWSE),
    Open("GET", "/datasets", "lists what charlie may read: public datasets and his own", BROWSE),
    Hidden("GET", D, "dataset_not_found"),
    Hidden("PATCH", D, "dataset_not_found", json={"description": "mine"}),
    Hidden("DELETE", D, "dataset_not_found"),
    Hidden("GET", f"{D}/stats", "dataset_not_found"),
    Hidden("GET", f"{D}/flags.tsv", "dataset_not_found"),
    Hidden(
        "POST",
        f"{D}/flags.tsv",
        "dataset_not_found",
        files={"file": ("f.tsv", b"image_id\tfilename\tflag\tflag_ts\n", "text/plain")},
    ),
    Hidden("GET", f"{D}/members", "dataset_not_found"),
    Hidden("POST", f"{D}/members", "dataset_not_found", json={"username": "x", "access": "read"}),
    Hidden("DELETE", f"{D}/members/{{username}}", "dataset_not_found"),
    Hidden(
        "GET",
        f"{D}/export/coco",
        "dataset_not_found",
        params=LABEL_SET,
    ),
    Hidden("POST", f"{D}/images", "dataset_not_found", files=PNG),
    Hidden("GET", f"{D}/images", "dataset_not_found"),
    Hidden("POST", f"{D}/images/missing", "dataset_not_found", json={"sha256": ["0" * 64]}),
    Hidden("POST", f"{D}/uploads", "dataset_not_found", files=PNG),
    Hidden(
        "POST",
        f"{D}/images/from-hashes",
        "dataset_not_found",
        json=lambda w: {"images": [{"sha256": w["sha256"]}]},
    ),
    Hidden(
        "POST",
        f"{D}/images/flag",
        "dataset_not_found",
        json=lambda w: {"image_ids": [w["image_id"]], "flag": 1},
    ),
    Hidden("GET", "/images/{image_id}", "image_not_found"),
    Hidden("PATCH", "/images/{image_id}", "image_not_found", json={"metadata": {}}),
    Hidden("DELETE", "/images/{image_id}", "image_not_found"),
    Hidden("GET", "/images/{image_id}/content", "image_not_found"),
    Hidden("HEAD", "/images/{image_id}/content", "image_not_found"),
    Hidden("GET", "/images/{image_id}/thumbnail", "image_not_found"),
    Hidden("HEAD", "/images/{image_id}/thumbnail", "image_not_found"),
    Hidden("POST", "/images/{image_id}/flag", "image_not_found", json={"flag": 1}),
    Hidden("POST", f"{D}/annotations", "dataset_not_found", json=annotation),
    Hidden("GET", f"{D}/annotations", "dataset_not_found", params=LABEL_SET),
    Hidden("GET", "/images/{image_id}/annotations", "image_not_found"),
    Hidden("POST", "/images/{image_id}/annotations", "image_not_found", json=annotation),
    Hidden("DELETE", "/images/{image_id}/annotations", "image_not_found"),
    Hidden("GET", "/annotations/{annotation_id}", "annotation_not_found"),
    Hidden("DELETE", "/annotations/{annotation_id}", "annotation_not_found"),
    Hidden("POST", "/annotations/{annotation_id}/alpha", "annotation_not_found", files=PNG),
    Hidden("GET", "/annotations/{annotation_id}/alpha", "annotation_not_found"),
    Hidden("HEAD", "/annotations/{annotation_id}/alpha", "annotation_not_found"),
    Hidden("POST", f"{D}/categories", "dataset_not_found", json={"name": "mine"}),
    Hidden("GET", f"{D}/categories", "dataset_not_found"),
    Hidden("GET", "/categories/{category_id}", "category_not_found"),
    Hidden("PATCH", "/categories/{category_id}", "category_not_found", json={"name": "mine"}),
    Hidden("POST", f"{D}/label-sets", "dataset_not_found", json={"name": "mine"}),
    Hidden("GET", f"{D}/label-sets", "dataset_not_found"),
    Hidden("GET", "/label-sets/{label_set_id}", "label_set_not_found"),
    Hidden("PATCH", "/label-sets/{label_set_id}", "label_set_not_found", json={"name": "mine"}),
    Hidden("DELETE", "/label-sets/{label_set_id}", "label_set_not_found"),
    Hidden("POST", "/label-sets/{label_set_id}/clone", "label_set_not_found", json={"name": "c"}),
    Hidden("DELETE", "/label-sets/{label_set_id}/annotations", "label_set_not_found"),
]
