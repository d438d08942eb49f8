"""ImageFolder import and export through the real CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveServer, Person
from tests.factories import make_noise_image
from tests.helpers import unique


def cli(server: LiveServer, person: Person, *args: str, check: bool = True) -> Any:
    return server.cli(*args, env={"VISIONHUB_TOKEN": person.token}, check=check)


def files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    for label, count, seed in (("cat", 3, 100), ("dog", 2, 200)):
        (root / label).mkdir()
        for i in range(count):
            (root / label / f"{i}.png").write_bytes(make_noise_image(20, 16, seed=seed + i))
    (root / "loose.png").write_bytes(make_noise_image(20, 16, seed=500))
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.png").write_bytes(make_noise_image(20, 16, seed=501))
    return root


@pytest.fixture(scope="module")
def imported(server: LiveServer, alice: Person, tree: Path) -> str:
    name = unique("folder")
    result = cli(server, alice, "dataset", "import", "folder", "--name", name, str(tree))
    assert "6 images uploaded" in result.stdout, result.stdout
    assert "5 annotations added" in result.stdout
    return name


def test_sub_folders_become_classes_of_a_ground_truth_label_set(
    alice: Person, imported: str
) -> None:
    dataset = alice.client.dataset(imported)
    stats = alice.client.dataset_stats(dataset["id"])

    assert dataset["type"] == "folder" and dataset["num_images"] == 6
    [gt] = stats["label_sets"]
    assert (gt["name"], gt["kind"]) == ("gt", "GT")
    assert {c["name"]: c["count"] for c in gt["categories"]} == {"cat": 3, "dog": 2}
    names = [i["filename"] for i in alice.client.iter_images(dataset["id"])]
    assert names == ["cat/0.png", "cat/1.png", "cat/2.png", "dog/0.png", "dog/1.png", "loose.png"]
    notes = list(alice.client.iter_annotations(dataset["id"], gt["id"]))
    assert all(n["bbox"] is None and n["segmentation"] is None for n in notes)
    assert "classification" in dataset["object_types"]


def test_export_gives_back_the_same_tree(
    server: LiveServer, alice: Person, imported: str, tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cli(server, alice, "dataset", "export", "folder", imported, "--out", str(out))

    expected = {k: v for k, v in files(tree).items() if k.endswith(".png") and "hidden" not in k}
    assert files(out) == expected


def test_importing_again_moves_nothing_and_a_new_image_gets_its_class(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "a.png").write_bytes(make_noise_image(20, 16, seed=900))
    name = unique("again")
    cli(server, alice, "dataset", "import", "folder", "--name", name, str(root))

    same = cli(server, alice, "dataset", "import", "folder", "--name", name, str(root))
    (root / "cat" / "b.png").write_bytes(make_noise_image(20, 16, seed=901))
    grown = cli(server, alice, "dataset", "import", "folder", "--name", name, str(root))

    assert "0 images uploaded, 0 attached, 1 already there" in same.stdout
    assert "0 annotations added" in same.stdout
    assert "1 images uploaded, 0 attached, 1 already there" in grown.stdout
    assert "1 annotations added" in grown.stdout
    stats = alice.client.dataset_stats(alice.client.dataset(name)["id"])
    assert stats["num_annotations"] == 2


def test_a_flat_folder_is_an_unlabeled_dataset(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(make_noise_image(20, 16, seed=700 + i))
    name = unique("flat")

    cli(server, alice, "dataset", "import", "folder", "--name", name, str(tmp_path))

    dataset = alice.client.dataset(name)
    assert dataset["num_images"] == 3
    assert alice.client.list_label_sets(dataset["id"]) == []
    out = tmp_path / "out"
    cli(server, alice, "dataset", "export", "folder", name, "--out", str(out))
    assert sorted(files(out)) == ["0.png", "1.png", "2.png"]


def test_images_the_server_rejects_are_reported_and_the_rest_imported(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "good.png").write_bytes(make_noise_image(20, 16, seed=800))
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    name = unique("partly")

    result = cli(server, alice, "dataset", "import", "folder", "--name", name, str(tmp_path))

    assert "1 images uploaded" in result.stdout and "1 rejected" in result.stdout
    assert "broken.png: invalid_image" in result.stdout
    assert "1 annotations added" in result.stdout


def test_a_stranger_cannot_export_someone_elses_folder(
    server: LiveServer, alice: Person, charlie: Person, imported: str, tmp_path: Path
) -> None:
    result = cli(
        server, charlie, "dataset", "export", "folder", f"{alice.username}/{imported}",
        "--out", str(tmp_path / "x"), check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "dataset_not_found" in result.stderr
    assert not (tmp_path / "x").exists()


def test_datasets_are_created_and_listed_from_the_command_line(
    server: LiveServer, alice: Person, bob: Person
) -> None:
    name = unique("cli")
    created = cli(
        server, alice, "dataset", "create", name, "--public", "--min-width", "10",
        "--min-height", "5", "--maintain-ratio",
    )  # fmt: skip
    assert f"created dataset {alice.username}/{name}" in created.stdout
    dataset = alice.client.dataset(name)
    assert (dataset["visibility"], dataset["img_width"], dataset["maintain_ratio"]) == (
        "public",
        10,
        True,
    )
    listed = cli(server, bob, "dataset", "list", "--owner", alice.username)
    assert f"{alice.username}/{name}" in listed.stdout
    again = cli(server, alice, "dataset", "create", name, check=False)
    assert again.returncode != 0 and "dataset_exists" in again.stderr
