"""Shared steps of the datasets tests, all through the real API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Person
from tests.factories import make_noise_image
from tests.helpers import unique


def new_dataset(person: Person, prefix: str = "ds", **fields: Any) -> dict[str, Any]:
    response = person.http.post("/datasets", json={"name": unique(prefix), **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def upload(
    person: Person,
    dataset_id: int,
    data: bytes,
    name: str = "image.png",
    **form: Any,
) -> dict[str, Any]:
    response = person.http.post(
        f"/datasets/{dataset_id}/images",
        files={"file": (name, data, "application/octet-stream")},
        data={k: str(v) for k, v in form.items()},
    )
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def upload_noise(person: Person, dataset_id: int, n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    return [
        upload(person, dataset_id, make_noise_image(32, 24, seed=seed + i), f"img-{seed + i}.png")
        for i in range(n)
    ]


def new_label_set(person: Person, dataset_id: int, name: str = "gt", kind: str = "GT") -> int:
    response = person.http.post(
        f"/datasets/{dataset_id}/label-sets", json={"name": name, "kind": kind}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def new_category(person: Person, dataset_id: int, name: str, **fields: Any) -> int:
    response = person.http.post(f"/datasets/{dataset_id}/categories", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def add_annotations(person: Person, dataset_id: int, annotations: list[dict[str, Any]]) -> None:
    response = person.http.post(
        f"/datasets/{dataset_id}/annotations", json={"annotations": annotations}
    )
    assert response.status_code == 201, response.text


def blob_count(home: Path) -> int:
    """Published blobs in the test run's file store."""
    return sum(1 for p in (home / "blobs").rglob("*") if p.is_file() and ".tmp" not in p.parts)
