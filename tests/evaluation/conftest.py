"""Putting a generated COCO-style set into VisionHub through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import Person
from tests.factories import make_image
from tests.helpers import unique
from tests.tasks_support import run_tasks

__all__ = ["Imported", "import_set", "run_tasks"]


@dataclass
class Imported:
    dataset_id: int
    images: dict[int, int]  # file image id -> VisionHub image id
    categories: dict[int, int]
    gt_ids: list[int]  # VisionHub ids of the file's annotations, in order
    dt_ids: list[int]  # VisionHub ids of the results, in order (loadRes ids 1, 2, …)
    gt: str = "gt"
    pred: str = "pred"


def _post(person: Person, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = person.http.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def import_set(person: Person, data: dict[str, Any]) -> Imported:
    """The images (one colour each, at the file's sizes), categories, a GT and a Pred label set."""
    dataset = _post(person, "/datasets", {"name": unique("eval")})
    did = dataset["id"]
    images = {}
    for n, img in enumerate(data["images"]):
        content = make_image(img["width"], img["height"], color=(n % 256, n // 256, 7))
        response = person.http.post(
            f"/datasets/{did}/images", files={"file": (img["file_name"], content, "image/png")}
        )
        assert response.status_code == 201, response.text
        images[img["id"]] = response.json()["id"]
    categories = {}
    for cat in data["categories"]:
        body = {"name": cat["name"], "keypoint_names": cat.get("keypoints", [])}
        categories[cat["id"]] = _post(person, f"/datasets/{did}/categories", body)["id"]
    gt_set = _post(person, f"/datasets/{did}/label-sets", {"name": "gt", "kind": "GT"})["id"]
    pred_set = _post(person, f"/datasets/{did}/label-sets", {"name": "pred", "kind": "Pred"})["id"]

    def convert(row: dict[str, Any], label_set: int, gt: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "image_id": images[row["image_id"]],
            "label_set_id": label_set,
            "category_id": categories[row["category_id"]],
        }
        for key in ("bbox", "segmentation", "keypoints"):
            if key in row:
                out[key] = row[key]
        if gt:
            out["is_group"] = bool(row.get("iscrowd"))
            out["area"] = row["area"]
        else:
            out["conf"] = row["score"]
        return out

    gt_ids = _bulk(person, did, [convert(r, gt_set, True) for r in data["annotations"]])
    dt_ids = _bulk(person, did, [convert(r, pred_set, False) for r in data["results"]])
    return Imported(did, images, categories, gt_ids, dt_ids)


def _bulk(person: Person, dataset_id: int, rows: list[dict[str, Any]]) -> list[int]:
    """Add ``rows`` in order; their new ids (ascending, as inserted)."""
    before = _max_id(person, dataset_id)
    for start in range(0, len(rows), 5000):
        _post(
            person,
            f"/datasets/{dataset_id}/annotations",
            {"annotations": rows[start : start + 5000]},
        )
    ids = sorted(i for i in _all_ids(person, dataset_id) if i > before)
    assert len(ids) == len(rows)
    return ids


def _all_ids(person: Person, dataset_id: int) -> list[int]:
    sets = person.http.get(f"/datasets/{dataset_id}/label-sets").json()
    ids: list[int] = []
    for label_set in sets if isinstance(sets, list) else sets["items"]:
        ids += [a["id"] for a in person.client.iter_annotations(dataset_id, label_set["id"])]
    return ids


def _max_id(person: Person, dataset_id: int) -> int:
    return max(_all_ids(person, dataset_id), default=0)
