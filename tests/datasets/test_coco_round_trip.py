"""COCO import and export through the real CLI: nothing lost, nothing moved twice.

Import → export → import gives the same images and annotations field by field, and
pycocotools reads our export and agrees with the original file on every annotation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO
from tests.conftest import LiveServer, Person
from tests.datasets.coco_fixtures import make_captions, make_coco, make_results
from tests.helpers import unique

# pycocotools' decoder predates numpy 2's __array__ protocol and warns on every mask.
PYCOCOTOOLS_NUMPY2 = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
COMPARED = ("bbox", "area", "segmentation", "iscrowd", "keypoints", "num_keypoints", "category_id")


def cli(server: LiveServer, person: Person, *args: str, check: bool = True) -> Any:
    return server.cli(*args, env={"VISIONHUB_TOKEN": person.token}, check=check)


def load_coco(path: Path) -> COCO:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its timings
        return COCO(str(path))


def by_image(coco: COCO) -> dict[int, list[dict[str, Any]]]:
    return {
        image_id: sorted(coco.imgToAnns[image_id], key=lambda a: a["id"])
        for image_id in coco.getImgIds()
    }


def without_ids(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in note.items() if k != "id"} for note in notes]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_coco(tmp_path_factory.mktemp("coco"), n_images=6, seed=3)


@pytest.fixture(scope="module")
def imported(server: LiveServer, alice: Person, source: tuple[Path, Path]) -> str:
    instances, images = source
    name = unique("coco")
    result = cli(
        server, alice, "dataset", "import", "coco", "--name", name,
        "--annotations", str(instances), "--images", str(images),
    )  # fmt: skip
    assert "6 images uploaded" in result.stdout, result.stdout + result.stderr
    return name


def test_the_import_holds_every_image_and_annotation(
    alice: Person, imported: str, source: tuple[Path, Path]
) -> None:
    original = json.loads(source[0].read_text())
    dataset = alice.client.dataset(imported)
    stats = alice.client.dataset_stats(dataset["id"])

    assert dataset["num_images"] == 6
    assert dataset["status"] == "ready" and dataset["type"] == "coco"
    assert stats["num_annotations"] == len(original["annotations"])
    [gt] = stats["label_sets"]
    assert (gt["name"], gt["kind"]) == ("gt", "GT")
    images = list(alice.client.iter_images(dataset["id"]))
    assert [i["source_id"] for i in images] == [i["id"] for i in original["images"]]
    assert images[1]["filename"] == "sub/3-001.png"
    assert images[0]["metadata"] == {
        "license": 1,
        "coco_url": "http://example.org/3-000.png",
        "date_captured": "2017-11-14 11:18:45",
    }
    person = next(c for c in alice.client.list_categories(dataset["id"]) if c["name"] == "person")
    assert person["keypoint_names"][0] == "nose"
    assert person["keypoint_skeleton"] == [[1, 2], [1, 3], [2, 4], [3, 5]]
    assert person["source_id"] == 1


def test_importing_again_moves_no_image_and_adds_nothing(
    server: LiveServer, alice: Person, imported: str, source: tuple[Path, Path]
) -> None:
    instances, images = source
    before = alice.client.dataset_stats(alice.client.dataset(imported)["id"])

    result = cli(
        server, alice, "dataset", "import", "coco", "--name", imported,
        "--annotations", str(instances), "--images", str(images),
    )  # fmt: skip

    assert "0 images uploaded, 0 attached, 6 already there" in result.stdout
    assert "0 annotations added" in result.stdout
    assert alice.client.dataset_stats(alice.client.dataset(imported)["id"]) == before


@PYCOCOTOOLS_NUMPY2
def test_pycocotools_reads_our_export_and_agrees_on_every_annotation(
    server: LiveServer, alice: Person, imported: str, source: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "export.json"
    cli(server, alice, "dataset", "export", "coco", imported, "--out", str(out))

    ours, theirs = load_coco(out), load_coco(source[0])

    assert sorted(ours.getImgIds()) == sorted(theirs.getImgIds())
    assert ours.loadCats(ours.getCatIds()) == theirs.loadCats(theirs.getCatIds())
    for image_id, expected in by_image(theirs).items():
        got = by_image(ours)[image_id]
        assert len(got) == len(expected)
        for mine, original in zip(got, expected, strict=True):
            for key in COMPARED:
                assert mine.get(key) == original.get(key), (image_id, key)
            # The masks pycocotools computes agree too (polygons and RLE alike).
            assert (ours.annToMask(mine) == theirs.annToMask(original)).all()
        image = ours.loadImgs(image_id)[0]
        assert image == theirs.loadImgs(image_id)[0]


def test_export_then_import_gives_the_same_dataset_field_by_field(
    server: LiveServer, alice: Person, imported: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    images = tmp_path / "images"
    cli(
        server, alice, "dataset", "export", "coco", imported,
        "--out", str(first), "--images-dir", str(images),
    )  # fmt: skip
    copy = unique("copy")
    cli(
        server, alice, "dataset", "import", "coco", "--name", copy,
        "--annotations", str(first), "--images", str(images),
    )  # fmt: skip
    second = tmp_path / "second.json"
    cli(server, alice, "dataset", "export", "coco", copy, "--out", str(second))

    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["images"] == b["images"]
    assert a["categories"] == b["categories"]
    assert without_ids(a["annotations"]) == without_ids(b["annotations"])
    original_images = list(alice.client.iter_images(alice.client.dataset(imported)["id"]))
    copied_images = list(alice.client.iter_images(alice.client.dataset(copy)["id"]))
    fields = ("sha256", "width", "height", "filename", "source_id", "metadata", "idx")
    assert [{k: i[k] for k in fields} for i in original_images] == [
        {k: i[k] for k in fields} for i in copied_images
    ]


def test_exported_images_are_the_uploaded_bytes(
    server: LiveServer, alice: Person, imported: str, source: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "images"
    cli(
        server, alice, "dataset", "export", "coco", imported,
        "--out", str(tmp_path / "x.json"), "--images-dir", str(out),
    )  # fmt: skip
    for original in source[1].rglob("*.png"):
        exported = out / original.relative_to(source[1])
        assert (
            hashlib.sha256(exported.read_bytes()).digest()
            == hashlib.sha256(original.read_bytes()).digest()
        )

    again = cli(
        server, alice, "dataset", "export", "coco", imported,
        "--out", str(tmp_path / "x.json"), "--images-dir", str(out),
    )  # fmt: skip
    assert "0 of 6 images downloaded" in again.stdout


def test_captions_survive_import_and_export(
    server: LiveServer, alice: Person, imported: str, source: tuple[Path, Path], tmp_path: Path
) -> None:
    captions = make_captions(source[0], tmp_path)
    cli(
        server, alice, "dataset", "import", "coco", "--name", imported,
        "--annotations", str(captions), "--images", str(source[1]), "--label-set", "captions",
    )  # fmt: skip
    out = tmp_path / "captions-export.json"
    cli(
        server, alice, "dataset", "export", "coco", imported,
        "--out", str(out), "--label-set", "captions",
    )  # fmt: skip

    ours, theirs = load_coco(out), load_coco(captions)
    for image_id, expected in by_image(theirs).items():
        assert [a["caption"] for a in by_image(ours)[image_id]] == [a["caption"] for a in expected]
    assert "categories" not in json.loads(out.read_text())


@PYCOCOTOOLS_NUMPY2
def test_a_results_file_becomes_a_pred_label_set_with_scores(
    server: LiveServer, alice: Person, imported: str, source: tuple[Path, Path], tmp_path: Path
) -> None:
    results = make_results(source[0], tmp_path)
    cli(
        server,
        alice,
        "dataset",
        "import",
        "coco",
        "--name",
        imported,
        "--annotations",
        str(results),
    )
    dataset = alice.client.dataset(imported)
    pred = next(ls for ls in alice.client.list_label_sets(dataset["id"]) if ls["name"] == "pred")
    assert pred["kind"] == "Pred"

    out = tmp_path / "pred.json"
    cli(
        server,
        alice,
        "dataset",
        "export",
        "coco",
        imported,
        "--out",
        str(out),
        "--label-set",
        "pred",
    )

    expected = json.loads(results.read_text())
    gt = load_coco(source[0])
    detections = gt.loadRes(str(results))
    exported = json.loads(out.read_text())["annotations"]
    assert [(a["image_id"], a["score"], a["bbox"]) for a in exported] == [
        (r["image_id"], r["score"], r["bbox"]) for r in expected
    ]
    for mine, theirs in zip(exported, detections.loadAnns(detections.getAnnIds()), strict=True):
        assert mine["segmentation"] == theirs["segmentation"]
        assert mine["area"] == theirs["area"]

    again = cli(
        server, alice, "dataset", "import", "coco", "--name", imported,
        "--annotations", str(results), check=False,
    )  # fmt: skip
    assert again.returncode != 0 and "label_set_not_empty" in again.stderr


def test_a_missing_image_file_stops_the_import_before_anything_is_written(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    instances, images = make_coco(tmp_path, n_images=2, seed=8)
    next(images.rglob("*.png")).unlink()
    name = unique("broken")

    result = cli(
        server, alice, "dataset", "import", "coco", "--name", name,
        "--annotations", str(instances), "--images", str(images), check=False,
    )  # fmt: skip

    assert result.returncode != 0 and "images_not_found" in result.stderr
    assert alice.client.find_dataset(name) is None


def test_a_stranger_cannot_export_a_private_dataset(
    server: LiveServer, alice: Person, charlie: Person, imported: str, tmp_path: Path
) -> None:
    result = cli(
        server, charlie, "dataset", "export", "coco", f"{alice.username}/{imported}",
        "--out", str(tmp_path / "stolen.json"), check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "dataset_not_found" in result.stderr
    assert not (tmp_path / "stolen.json").exists()
