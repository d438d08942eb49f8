"""Seed 004's ``flag_export_link``: a dataset's flags as TSV at a stable link, and read back."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.datasets.helpers import new_dataset, upload_noise
from tests.helpers import assert_error

HEADER = "image_id\tfilename\tflag\tflag_ts"


def rows(text: str) -> list[list[str]]:
    lines = text.splitlines()
    assert lines[0] == HEADER
    return [line.split("\t") for line in lines[1:]]


def flagged_dataset(alice: Person) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dataset = new_dataset(alice)
    images = upload_noise(alice, dataset["id"], 4, seed=700)
    alice.http.post(
        f"/datasets/{dataset['id']}/images/flag",
        json={"image_ids": [images[0]["id"], images[2]["id"]], "flag": 1},
    )
    alice.http.post(
        f"/datasets/{dataset['id']}/images/flag", json={"image_ids": [images[3]["id"]], "flag": 2}
    )
    return dataset, images


def test_the_flags_download_at_the_datasets_stable_link(alice: Person) -> None:
    dataset, images = flagged_dataset(alice)
    link = dataset["flag_export_link"]
    assert link == f"/api/v1/datasets/{dataset['id']}/flags.tsv"
    response = alice.http.get(link.removeprefix("/api/v1"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/tab-separated-values")
    got = rows(response.text)
    assert [(int(r[0]), r[1], int(r[2])) for r in got] == [
        (image["id"], image["filename"], flag)
        for image, flag in zip(images, [1, 0, 1, 2], strict=True)
    ]
    assert [bool(r[3]) for r in got] == [True, False, True, True]


def test_flags_are_read_back_from_such_a_file(alice: Person) -> None:
    source, _ = flagged_dataset(alice)
    exported = alice.http.get(f"/datasets/{source['id']}/flags.tsv").text
    # Apply it to the same dataset after clearing: every flag and time comes back.
    ids = [int(r[0]) for r in rows(exported)]
    alice.http.post(f"/datasets/{source['id']}/images/flag", json={"image_ids": ids, "flag": 0})
    response = alice.http.post(
        f"/datasets/{source['id']}/flags.tsv",
        files={"file": ("flags.tsv", exported.encode(), "text/tab-separated-values")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 4, "skipped": 0, "problems": []}
    assert alice.http.get(f"/datasets/{source['id']}/flags.tsv").text == exported


def test_lines_for_other_datasets_or_unreadable_ones_are_skipped_and_counted(
    alice: Person,
) -> None:
    dataset, images = flagged_dataset(alice)
    _, other_images = flagged_dataset(alice)
    body = "\n".join(
        [
            HEADER,
            f"{images[1]['id']}\tx.png\t2\t2024-01-02T03:04:05+00:00",
            f"{other_images[0]['id']}\ty.png\t1\t",
            f"{images[0]['id']}\tx.png\t7\t",
            "not a number\tz.png\t1\t",
            f"{images[2]['id']}\tx.png\t0",
            "99999999999999999999999\tbig.png\t1\t",
        ]
    )
    response = alice.http.post(
        f"/datasets/{dataset['id']}/flags.tsv",
        files={"file": ("f.tsv", body.encode(), "text/plain")},
    )
    report = response.json()
    assert (report["updated"], report["skipped"]) == (2, 4)
    assert sorted(p["line"] for p in report["problems"]) == [3, 4, 5, 7]
    got = {
        int(r[0]): (int(r[2]), r[3])
        for r in rows(alice.http.get(f"/datasets/{dataset['id']}/flags.tsv").text)
    }
    assert got[images[1]["id"]] == (2, "2024-01-02T03:04:05+00:00")
    assert got[images[2]["id"]] == (0, "")
    assert got[images[0]["id"]][0] == 1  # the unreadable line changed nothing


def test_a_file_without_the_header_is_422_and_readers_may_not_write(
    alice: Person, bob: Person
) -> None:
    dataset, _ = flagged_dataset(alice)
    url = f"/datasets/{dataset['id']}/flags.tsv"
    bad = alice.http.post(url, files={"file": ("f.tsv", b"1\ta\t1\t\n", "text/plain")})
    assert_error(bad, 422, "invalid_flags_file")
    alice.http.post(
        f"/datasets/{dataset['id']}/members", json={"username": bob.username, "access": "read"}
    )
    assert bob.http.get(url).status_code == 200
    denied = bob.http.post(url, files={"file": ("f.tsv", f"{HEADER}\n".encode(), "text/plain")})
    assert denied.status_code == 403, denied.text
