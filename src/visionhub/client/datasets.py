"""Client methods for datasets: thin wrappers of the REST API, one call each. Bulk uploads and
COCO / ImageFolder import and export, built on them, are the transfer engine
(``client/transfer.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from visionhub.client.base import BaseClient, ClientError

JSON = dict[str, Any]


class DatasetsClient(BaseClient):
    # --- datasets -----------------------------------------------------------------------------

    def create_dataset(self, name: str, **fields: Any) -> JSON:
        result: JSON = self.post("/datasets", json={"name": name, **fields})
        return result

    def list_datasets(self, **params: Any) -> Iterator[JSON]:
        """Datasets the caller may read (``name=``, ``owner=`` filter)."""
        return self.iterate("/datasets", params)

    def find_dataset(self, name: str) -> JSON | None:
        """The dataset ``name`` (yours) or ``owner/name``, or None."""
        page = self.get("/datasets", params={"name": name, "limit": 1})
        items: list[JSON] = page["items"]
        return items[0] if items else None

    def dataset(self, ref: int | str) -> JSON:
        """A dataset by id or by name (``name`` or ``owner/name``); ClientError 404 if none."""
        if isinstance(ref, int) or ref.isdigit():
            result: JSON = self.get(f"/datasets/{int(ref)}")
            return result
        found = self.find_dataset(ref)
        if found is None:
            raise ClientError(404, "dataset_not_found", f"no dataset {ref!r}", {})
        return found

    def update_dataset(self, dataset_id: int, **changes: Any) -> JSON:
        result: JSON = self.patch(f"/datasets/{dataset_id}", json=changes)
        return result

    def delete_dataset(self, dataset_id: int) -> None:
        self.delete(f"/datasets/{dataset_id}")

    def dataset_stats(self, dataset_id: int, *, exact: bool = False) -> JSON:
        result: JSON = self.get(f"/datasets/{dataset_id}/stats", params={"exact": exact})
        return result

    def set_member(self, dataset_id: int, username: str, access: str = "read") -> JSON:
        result: JSON = self.post(
            f"/datasets/{dataset_id}/members", json={"username": username, "access": access}
        )
        return result

    def remove_member(self, dataset_id: int, username: str) -> None:
        self.delete(f"/datasets/{dataset_id}/members/{username}")

    # --- images -------------------------------------------------------------------------------

    def upload_image(
        self,
        dataset_id: int,
        source: Path | str | bytes,
        *,
        filename: str | None = None,
        metadata: dict[str, Any] | None = None,
        source_id: int | None = None,
    ) -> JSON:
        """Upload one image (a path or bytes); returns the image, new or already there."""
        form: dict[str, str] = {}
        if filename:
            form["filename"] = filename
        if metadata:
            form["metadata"] = json.dumps(metadata)
        if source_id is not None:
            form["source_id"] = str(source_id)
        if isinstance(source, bytes):
            files = {"file": (filename or "image", source, "application/octet-stream")}
            result: JSON = self.post(f"/datasets/{dataset_id}/images", files=files, data=form)
            return result
        path = Path(source)
        with path.open("rb") as fh:
            files = {"file": (path.name, fh, "application/octet-stream")}  # type: ignore[dict-item]
            result = self.post(f"/datasets/{dataset_id}/images", files=files, data=form)
        return result

    def missing_images(self, dataset_id: int, hashes: Sequence[str]) -> JSON:
        """``{"missing": [sha256…], "present": [{sha256, id}…]}`` for up to 10,000 hashes."""
        result: JSON = self.post(
            f"/datasets/{dataset_id}/images/missing", json={"sha256": list(hashes)}
        )
        return result

    def attach_images(self, dataset_id: int, images: Sequence[JSON]) -> JSON:
        """Add images by the hash of content you can already read (``from-hashes``)."""
        result: JSON = self.post(
            f"/datasets/{dataset_id}/images/from-hashes", json={"images": list(images)}
        )
        return result

    def stage_image(self, dataset_id: int, path: Path) -> JSON:
        """Upload an image to be checked and stored, to add later with ``attach_images``."""
        with path.open("rb") as fh:
            files = {"file": (path.name, fh, "application/octet-stream")}
            result: JSON = self.post(f"/datasets/{dataset_id}/uploads", files=files)
        return result

    def iter_images(self, dataset_id: int, **filters: Any) -> Iterator[JSON]:
        """Every image of a dataset in ``idx`` order (filters as the image list takes)."""
        return self.iterate(f"/datasets/{dataset_id}/images", filters)

    def image(self, image_id: int) -> JSON:
        result: JSON = self.get(f"/images/{image_id}")
        return result

    def download_image(self, image_id: int, dest: Path, *, thumbnail: bool = False) -> None:
        """Stream an image (or its thumbnail) to ``dest``, written atomically."""
        kind = "thumbnail" if thumbnail else "content"
        self.stream_to(f"/images/{image_id}/{kind}", dest)

    def flag_images(self, dataset_id: int, image_ids: Sequence[int], flag: int) -> int:
        result = self.post(
            f"/datasets/{dataset_id}/images/flag", json={"image_ids": list(image_ids), "flag": flag}
        )
        return int(result["count"])

    # --- categories, label sets, annotations --------------------------------------------------

    def create_category(self, dataset_id: int, name: str, **fields: Any) -> JSON:
        result: JSON = self.post(
            f"/datasets/{dataset_id}/categories", json={"name": name, **fields}
        )
        return result

    def list_categories(self, dataset_id: int) -> list[JSON]:
        return list(self.iterate(f"/datasets/{dataset_id}/categories"))

    def create_label_set(self, dataset_id: int, name: str, kind: str = "GT") -> JSON:
        result: JSON = self.post(
            f"/datasets/{dataset_id}/label-sets", json={"name": name, "kind": kind}
        )
        return result

    def list_label_sets(self, dataset_id: int) -> list[JSON]:
        return list(self.iterate(f"/datasets/{dataset_id}/label-sets"))

    def clone_label_set(self, label_set_id: int, name: str, kind: str | None = None) -> JSON:
        result: JSON = self.post(
            f"/label-sets/{label_set_id}/clone", json={"name": name, "kind": kind}
        )
        return result

    def delete_label_set(self, label_set_id: int) -> None:
        self.delete(f"/label-sets/{label_set_id}")

    def iter_annotations(self, dataset_id: int, label_set_id: int) -> Iterator[JSON]:
        return self.iterate(f"/datasets/{dataset_id}/annotations", {"label_set": label_set_id})

    def image_annotations(self, image_id: int, label_set_id: int | None = None) -> list[JSON]:
        params = {"label_set": label_set_id} if label_set_id else {}
        return list(self.iterate(f"/images/{image_id}/annotations", params))
