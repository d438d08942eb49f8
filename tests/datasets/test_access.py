"""Who sees and changes what: every endpoint tried by a stranger, a reader, a writer, staff.

Rules (``datasets/access.py``, those of every shared thing): a stranger gets 404 for everything
in a private dataset, as if it did not exist; someone who may read a dataset but not change it
gets 403 ``read_only`` for a write; deleting, changing visibility and managing members are for
the owner (and staff): 403 ``owner_only`` for anyone else who may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from tests.conftest import Person
from tests.datasets.helpers import new_category, new_dataset, new_label_set, upload
from tests.factories import make_noise_image, make_png
from tests.helpers import assert_error


@dataclass(frozen=True)
class Ids:
    dataset: int
    image: int
    sha256: str
    category: int
    label_set: int
    annotation: int


def _populate(owner: Person, **fields: Any) -> Ids:
    dataset = new_dataset(owner, "acl", **fields)
    image = upload(owner, dataset["id"], make_noise_image(40, 30, seed=hash(dataset["name"]) % 997))
    category = new_category(owner, dataset["id"], "cat")
    label_set = new_label_set(owner, dataset["id"])
    created = owner.http.post(
        f"/images/{image['id']}/annotations",
        json={"annotations": [{"label_set_id": label_set, "category_id": category}]},
    )
    assert created.status_code == 201, created.text
    annotation = created.json()["annotations"][0]["id"]
    alpha = owner.http.post(
        f"/annotations/{annotation}/alpha", files={"file": ("a.png", make_png(40, 30), "image/png")}
    )
    assert alpha.status_code == 200, alpha.text
    return Ids(dataset["id"], image["id"], image["sha256"], category, label_set, annotation)


@pytest.fixture(scope="module")
def private(alice: Person, bob: Person, make_person: Any) -> Ids:
    ids = _populate(alice)
    assert (
        alice.http.post(
            f"/datasets/{ids.dataset}/members", json={"username": bob.username, "access": "read"}
        ).status_code
        == 201
    )
    return ids


@pytest.fixture(scope="module")
def dave(make_person: Any) -> Person:
    person: Person = make_person("dave")
    return person


@pytest.fixture(scope="module")
def shared(alice: Person, dave: Person, private: Ids) -> Ids:
    """``private`` with dave as a write member."""
    response = alice.http.post(
        f"/datasets/{private.dataset}/members", json={"username": dave.username, "access": "write"}
    )
    assert response.status_code == 201
    return private


@pytest.fixture(scope="module")
def public(alice: Person) -> Ids:
    return _populate(alice, visibility="public")


def reads(ids: Ids) -> list[tuple[str, str, dict[str, Any]]]:
    d, i, c, ls, a = ids.dataset, ids.image, ids.category, ids.label_set, ids.annotation
    return [
        ("GET", f"/datasets/{d}", {}),
        ("GET", f"/datasets/{d}/stats", {}),
        ("GET", f"/datasets/{d}/export/coco?label_set={ls}", {}),
        ("GET", f"/datasets/{d}/images", {}),
        ("GET", f"/datasets/{d}/images?category={c}&label_set={ls}", {}),
        ("GET", f"/datasets/{d}/annotations?label_set={ls}", {}),
        ("GET", f"/datasets/{d}/categories", {}),
        ("GET", f"/datasets/{d}/label-sets", {}),
        ("GET", f"/images/{i}", {}),
        ("GET", f"/images/{i}/content", {}),
        ("HEAD", f"/images/{i}/content", {}),
        ("GET", f"/images/{i}/thumbnail", {}),
        ("GET", f"/images/{i}/annotations", {}),
        ("GET", f"/annotations/{a}", {}),
        ("GET", f"/annotations/{a}/alpha", {}),
        ("GET", f"/categories/{c}", {}),
        ("GET", f"/label-sets/{ls}", {}),
    ]


def writes(ids: Ids) -> list[tuple[str, str, dict[str, Any]]]:
    d, i, c, ls, a = ids.dataset, ids.image, ids.category, ids.label_set, ids.annotation
    png = {"files": {"file": ("x.png", make_png(41, 31), "image/png")}}
    note = {"label_set_id": ls, "category_id": c}
    return [
        ("PATCH", f"/datasets/{d}", {"json": {"description": "changed"}}),
        ("POST", f"/datasets/{d}/images", png),
        ("POST", f"/datasets/{d}/images/missing", {"json": {"sha256": [ids.sha256]}}),
        ("POST", f"/datasets/{d}/images/from-hashes", {"json": {"images": []}}),
        ("POST", f"/datasets/{d}/images/flag", {"json": {"image_ids": [i], "flag": 1}}),
        (
            "POST",
            f"/datasets/{d}/annotations",
            {"json": {"annotations": [{**note, "image_id": i}]}},
        ),
        ("POST", f"/datasets/{d}/categories", {"json": {"name": "new"}}),
        ("POST", f"/datasets/{d}/label-sets", {"json": {"name": "new"}}),
        ("GET", f"/datasets/{d}/stats?exact=true", {}),
        ("PATCH", f"/images/{i}", {"json": {"metadata": {"a": 1}}}),
        ("POST", f"/images/{i}/flag", {"json": {"flag": 2}}),
        ("POST", f"/images/{i}/annotations", {"json": {"annotations": [note]}}),
        ("POST", f"/annotations/{a}/alpha", {"files": {"file": ("a.png", make_png(40, 30))}}),
        ("DELETE", f"/annotations/{a}", {}),
        ("DELETE", f"/images/{i}/annotations?label_set={ls}", {}),
        ("PATCH", f"/categories/{c}", {"json": {"name": "renamed"}}),
        ("PATCH", f"/label-sets/{ls}", {"json": {"name": "renamed"}}),
        ("POST", f"/label-sets/{ls}/clone", {"json": {"name": "copy"}}),
        ("DELETE", f"/label-sets/{ls}/annotations", {}),
        ("DELETE", f"/label-sets/{ls}", {}),
        ("DELETE", f"/images/{i}", {}),
    ]


def owner_only(ids: Ids, member: str) -> list[tuple[str, str, dict[str, Any]]]:
    d = ids.dataset
    return [
        ("PATCH", f"/datasets/{d}", {"json": {"visibility": "public"}}),
        ("GET", f"/datasets/{d}/members", {}),
        ("POST", f"/datasets/{d}/members", {"json": {"username": member, "access": "write"}}),
        ("DELETE", f"/datasets/{d}/members/{member}", {}),
        ("DELETE", f"/datasets/{d}", {}),
    ]


def call(person: Person, method: str, path: str, kwargs: dict[str, Any]) -> Any:
    return person.http.request(method, path, **kwargs)


def test_a_stranger_gets_404_from_every_endpoint_of_a_private_dataset(
    charlie: Person, bob: Person, private: Ids
) -> None:
    for method, path, kwargs in [
        *reads(private),
        *writes(private),
        *owner_only(private, bob.username),
    ]:
        response = call(charlie, method, path, kwargs)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        if method != "HEAD":
            assert_error(response, 404)


def test_missing_and_forbidden_look_the_same(charlie: Person, private: Ids) -> None:
    forbidden = charlie.http.get(f"/images/{private.image}").json()
    missing = charlie.http.get("/images/999999999").json()
    assert forbidden == missing


def test_a_stranger_does_not_find_a_private_dataset_by_name_or_in_lists(
    alice: Person, charlie: Person, private: Ids
) -> None:
    name = alice.http.get(f"/datasets/{private.dataset}").json()["name"]

    by_name = charlie.http.get("/datasets", params={"name": f"{alice.username}/{name}"})
    listed = charlie.http.get("/datasets", params={"owner": alice.username})

    assert by_name.json()["items"] == []
    assert private.dataset not in [d["id"] for d in listed.json()["items"]]


def test_a_stranger_cannot_attach_content_by_its_hash(charlie: Person, private: Ids) -> None:
    mine = new_dataset(charlie)

    response = charlie.http.post(
        f"/datasets/{mine['id']}/images/from-hashes",
        json={"images": [{"sha256": private.sha256, "filename": "stolen.png"}]},
    )

    assert response.status_code == 200
    assert response.json() == {"images": [], "missing": [private.sha256], "rejected": []}
    assert charlie.http.get(f"/datasets/{mine['id']}/images").json()["items"] == []


def test_a_read_member_reads_everything_but_changes_nothing(
    bob: Person, charlie: Person, private: Ids
) -> None:
    for method, path, kwargs in reads(private):
        response = call(bob, method, path, kwargs)
        assert response.status_code in (200, 206), (method, path, response.text)
    for method, path, kwargs in writes(private):
        assert_error(call(bob, method, path, kwargs), 403, "read_only")
    for method, path, kwargs in owner_only(private, charlie.username):
        assert_error(call(bob, method, path, kwargs), 403, "owner_only")


def test_a_read_member_finds_the_dataset_by_owner_and_name(
    alice: Person, bob: Person, private: Ids
) -> None:
    name = alice.http.get(f"/datasets/{private.dataset}").json()["name"]
    found = bob.http.get("/datasets", params={"name": f"{alice.username}/{name}"}).json()
    assert [d["id"] for d in found["items"]] == [private.dataset]


def test_a_read_member_may_attach_content_he_can_read(bob: Person, private: Ids) -> None:
    mine = new_dataset(bob)

    response = bob.http.post(
        f"/datasets/{mine['id']}/images/from-hashes",
        json={"images": [{"sha256": private.sha256, "filename": "copy.png"}]},
    )

    assert response.status_code == 200
    attached = response.json()["images"]
    assert [i["sha256"] for i in attached] == [private.sha256]
    assert attached[0]["filename"] == "copy.png"
    content = bob.http.get(f"/images/{attached[0]['id']}/content")
    assert content.status_code == 200


def test_a_write_member_edits_content_but_not_ownership(
    dave: Person, charlie: Person, shared: Ids
) -> None:
    d = shared.dataset
    assert dave.http.patch(f"/datasets/{d}", json={"description": "by dave"}).status_code == 200
    assert dave.http.post(f"/datasets/{d}/categories", json={"name": "dave"}).status_code == 201
    image = upload(dave, d, make_noise_image(40, 30, seed=555))
    assert image["dataset_id"] == d
    for method, path, kwargs in owner_only(shared, charlie.username):
        assert_error(call(dave, method, path, kwargs), 403, "owner_only")


def test_everyone_reads_a_public_dataset_and_nobody_else_writes(
    charlie: Person, public: Ids
) -> None:
    for method, path, kwargs in reads(public):
        response = call(charlie, method, path, kwargs)
        assert response.status_code == 200, (method, path, response.text)
    for method, path, kwargs in writes(public):
        assert_error(call(charlie, method, path, kwargs), 403, "read_only")
    listed = charlie.http.get("/datasets").json()["items"]
    assert public.dataset in [d["id"] for d in listed]


def test_staff_may_do_anything(admin: Person, alice: Person) -> None:
    ids = _populate(alice)
    for method, path, kwargs in reads(ids):
        assert call(admin, method, path, kwargs).status_code == 200, path
    for method, path, kwargs in writes(ids):
        response = call(admin, method, path, kwargs)
        assert response.status_code < 300, (method, path, response.text)
    assert admin.http.delete(f"/datasets/{ids.dataset}").status_code == 204


def test_the_owner_manages_members(alice: Person, bob: Person) -> None:
    dataset = new_dataset(alice)
    url = f"/datasets/{dataset['id']}/members"

    assert (
        alice.http.post(url, json={"username": bob.username, "access": "write"}).status_code == 201
    )
    assert alice.http.get(url).json()[0]["access"] == "write"
    assert (
        alice.http.post(url, json={"username": bob.username, "access": "read"}).status_code == 201
    )
    assert [m["access"] for m in alice.http.get(url).json()] == ["read"]
    assert alice.http.delete(f"{url}/{bob.username}").status_code == 204
    assert_error(bob.http.get(f"/datasets/{dataset['id']}"), 404, "dataset_not_found")
    assert_error(alice.http.delete(f"{url}/{bob.username}"), 404, "member_not_found")
    assert_error(alice.http.post(url, json={"username": "nobody-here"}), 404, "user_not_found")
    assert_error(
        alice.http.post(url, json={"username": alice.username}), 422, "owner_is_not_a_member"
    )


def test_without_a_token_every_endpoint_answers_401(anonymous: Any, private: Ids) -> None:
    for method, path, kwargs in reads(private)[:3]:
        response = anonymous.request(method, path, **kwargs)
        assert_error(response, 401, "unauthorized")
