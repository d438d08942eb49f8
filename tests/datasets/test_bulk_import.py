"""Bulk annotations at the edges: bodies over the limit or not quite JSON, batches of a long
import, a COCO file's ``uncategorized`` section, and an image deleted while a batch is checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from tests.conftest import Person
from tests.datasets.helpers import new_category, new_dataset, new_label_set, upload
from tests.factories import make_noise_image
from tests.helpers import assert_error, unique

from visionhub.client import ClientError

W, H = 40, 30


@pytest.fixture(scope="module")
def server_settings() -> dict[str, Any]:
    return {"DATA_UPLOAD_MAX_MEMORY_SIZE": 1024 * 1024}


class Setup:
    def __init__(self, person: Person) -> None:
        self.person = person
        self.dataset = new_dataset(person, "bulk")["id"]
        self.image = upload(person, self.dataset, make_noise_image(W, H, seed=3100))["id"]
        self.gt = new_label_set(person, self.dataset, "gt")
        self.cat = new_category(person, self.dataset, "cat")

    def note(self, **fields: Any) -> dict[str, Any]:
        return {
            "image_id": self.image,
            "label_set_id": self.gt,
            "category_id": self.cat,
            "bbox": [1, 2, 10, 20],
            "segmentation": [[1, 2, 11, 2, 11, 22, 1, 22]],
            **fields,
        }

    def count(self) -> int:
        stats = self.person.http.get(f"/datasets/{self.dataset}/stats").json()
        return int(stats["num_annotations"])


@pytest.fixture(scope="module")
def setup(alice: Person) -> Setup:
    return Setup(alice)


def test_a_bulk_body_over_the_limit_is_refused_and_nothing_is_saved(setup: Setup) -> None:
    before = setup.count()
    notes = [setup.note() for _ in range(12_000)]  # about 1.5 MB of JSON, the limit is 1 MB

    response = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations",
        json={"annotations": notes},
        # The server may drop a connection whose body it did not read: do not reuse this one.
        headers={"Connection": "close"},
    )

    assert_error(response, 413, "request_too_large")
    assert setup.count() == before
    fits = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations", json={"annotations": notes[:4000]}
    )
    assert fits.status_code == 201 and fits.json() == {"created": 4000}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_json_does_not_have_are_invalid_json(setup: Setup, number: str) -> None:
    before = setup.count()
    body = json.dumps({"annotations": [setup.note()]}).replace('"bbox": [1,', f'"bbox": [{number},')
    assert number in body

    response = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )

    assert_error(response, 400, "invalid_json")
    assert setup.count() == before


def test_an_error_in_a_later_batch_counts_from_the_first_annotation(setup: Setup) -> None:
    before = setup.count()
    notes = [setup.note() for _ in range(3000)]  # two batches: 2,500 then 500
    notes[2700]["bbox"] = [0, 0, W + 10, 1]

    with pytest.raises(ClientError) as raised:
        setup.person.client.add_annotations(setup.dataset, notes)

    assert raised.value.code == "invalid_annotations"
    assert [(e["index"], e["field"]) for e in raised.value.details["errors"]] == [(2700, "bbox")]
    assert setup.count() == before + 2500  # the first batch stays, the second is not written


def test_an_image_deleted_while_its_batch_is_checked_saves_nothing(
    setup: Setup,
    committed: Callable[[], AbstractContextManager[None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visionhub.core.errors import Invalid
    from visionhub.datasets.models import Dataset
    from visionhub.datasets.services import annotations

    doomed = upload(setup.person, setup.dataset, make_noise_image(W, H, seed=3101))["id"]
    notes = [setup.note(), setup.note(image_id=doomed), setup.note()]
    before = setup.count()
    checks = annotations._validate

    def checked_then_deleted(*args: Any) -> Any:
        result = checks(*args)
        if setup.person.http.delete(f"/images/{doomed}").status_code != 204:
            raise AssertionError("the image was not deleted")
        return result

    monkeypatch.setattr(annotations, "_validate", checked_then_deleted)
    with committed():
        dataset = Dataset.objects.get(pk=setup.dataset)
        with pytest.raises(Invalid) as raised:
            annotations.create_annotations(dataset, notes)
        if connection.vendor == "sqlite":  # the checks the insert went without are back on
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys")
                assert cursor.fetchone()[0] == 1

    assert raised.value.code == "invalid_annotations"
    assert [(e["index"], e["field"]) for e in raised.value.details["errors"]] == [(1, "image_id")]
    assert setup.count() == before


@pytest.mark.parametrize("key", ['"uncategorized"', '"uncategoriz\\u0065d"'])
def test_the_uncategorized_section_of_a_coco_file_is_imported(
    alice: Person, tmp_path: Path, key: str
) -> None:
    (tmp_path / "a.png").write_bytes(make_noise_image(W, H, seed=3200))
    document = {
        "images": [{"id": 7, "file_name": "a.png", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "uncategorized": [{"id": 2, "image_id": 7, "caption": "a cat on a mat"}],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(document).replace('"uncategorized"', key))

    report = alice.client.import_coco(unique("uncat"), path, tmp_path)

    assert report.annotations == 2
    notes = alice.client.iter_annotations(report.dataset["id"], report.label_set["id"])  # type: ignore[index]
    assert sorted(n["caption"] for n in notes) == ["", "a cat on a mat"]


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"caption": "nul\x00here"}, "caption"),
        ({"compare_result": {"note": "nul\x00"}}, "compare_result.note"),
        ({"compare_result": {"\x00": 1}}, "compare_result"),
    ],
)
def test_text_postgresql_cannot_hold_is_refused_on_every_database(
    setup: Setup, fields: dict[str, Any], where: str
) -> None:
    before = setup.count()
    for path in (f"/datasets/{setup.dataset}/annotations", f"/images/{setup.image}/annotations"):
        response = setup.person.http.post(path, json={"annotations": [setup.note(**fields)]})

        error = assert_error(response, 422, "invalid_json_value")
        assert error["details"]["path"] == f"$.annotations[0].{where}"
    assert setup.count() == before
