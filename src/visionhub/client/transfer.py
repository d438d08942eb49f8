"""The transfer engine of the client: bulk image uploads and COCO / ImageFolder import and
export, over the REST wrappers of ``client/datasets.py`` (format readers in ``client/formats/``).

Imports hash every local image first and ask the server which ones it lacks, so a re-import
uploads nothing twice; uploads run in a small thread pool; annotations go in batches of up to
10,000, two in flight (each batch all or nothing on the server). Long steps report through
``progress(stage, done, total)``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson

from visionhub.client.base import ClientError
from visionhub.client.datasets import JSON, DatasetsClient
from visionhub.client.formats import coco, folder

Progress = Callable[[str, int, "int | None"], None]

T = TypeVar("T")
R = TypeVar("R")
HASH_BATCH = 1000
ANNOTATION_BATCH = 10_000


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


class DatasetImportError(ClientError):
    """An import stopped before writing anything: bad files, missing images."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(0, code, message, details or {})


@dataclass(frozen=True)
class LocalImage:
    """An image file to put into a dataset; ``key`` names it in the results (a COCO id…)."""

    path: Path
    filename: str
    key: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_id: int | None = None


@dataclass
class BulkUpload:
    """What ``upload_images_bulk`` did: ``ids`` maps each key to its image id."""

    ids: dict[Any, int] = field(default_factory=dict)
    new: set[Any] = field(default_factory=set)
    uploaded: int = 0
    attached: int = 0
    present: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    dataset: JSON
    label_set: JSON | None
    images: BulkUpload
    annotations: int = 0
    skipped_annotations: int = 0


@dataclass
class ExportReport:
    dataset: JSON
    label_set: JSON | None
    images: int = 0
    downloaded: int = 0


def _bounded_map(
    pool: ThreadPoolExecutor, function: Callable[[T], R], items: Iterable[T], window: int
) -> Iterator[R]:
    """``pool.map`` that keeps at most ``window`` tasks queued, so memory stays flat however
    many items there are (``Executor.map`` submits them all at once)."""
    pending: deque[Future[R]] = deque()
    for item in items:
        if len(pending) >= window:
            yield pending.popleft().result()
        pending.append(pool.submit(function, item))
    while pending:
        yield pending.popleft().result()


def _json_body(payload: Any) -> bytes:
    """``payload`` as the JSON httpx's ``json=`` sends, in a sixth of its time: orjson, unless
    the result could differ. orjson writes NaN and infinities as ``null`` where ``json``
    refuses them, and refuses what ``json`` converts (integers past 64 bits, non-string
    keys…); so any ``null`` in the output, or any refusal, means encoding again with ``json``.
    Annotations from a COCO file (ijson never yields NaN, and leaves out null fields) take
    the fast way."""
    try:
        body = orjson.dumps(payload)
    except TypeError:
        pass
    else:
        if b"null" not in body:
            return body
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


_ENCODE_CHUNK = 250
# The first batch is this small, and each next one twice the last up to the batch size: the
# server starts checking and inserting while the client still reads the file.
_FIRST_BATCH = 2500


def _encoded_batches(items: Iterable[JSON], size: int) -> Iterator[tuple[bytes, int]]:
    """``{"annotations": [...]}`` bodies of ``items``, with their count: the first of
    ``_FIRST_BATCH`` items, each next one of twice as many, up to ``size``.

    Items are encoded as they are read, 250 at a time (one orjson call per item would cost
    three times as much), so a batch being filled or waiting to be sent is mostly bytes: a
    fraction of the memory of the decoded objects, and little for the cyclic garbage
    collector to walk again and again (with 30,000 live annotations as lists and dicts, it
    took a third of the client's time)."""
    source = iter(items)
    limit = min(size, _FIRST_BATCH)
    while True:
        parts: list[bytes] = []
        count = 0
        while count < limit and (chunk := list(islice(source, min(_ENCODE_CHUNK, limit - count)))):
            parts.append(_json_body(chunk)[1:-1])
            count += len(chunk)
        if not count:
            return
        yield b'{"annotations":[' + b",".join(parts) + b"]}", count
        limit = min(size, 2 * limit)


def sha256_of(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _safe_join(root: Path, relative: str) -> Path:
    """``root/relative`` for a server-given name, refusing anything that leaves ``root``."""
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not parts:
        raise DatasetImportError("invalid_file_name", f"cannot write an image named {relative!r}")
    return root.joinpath(*parts)


class TransferClient(DatasetsClient):
    def upload_images_bulk(
        self,
        dataset_id: int,
        images: Sequence[LocalImage],
        *,
        threads: int = 4,
        progress: Progress = _no_progress,
    ) -> BulkUpload:
        """Put many local images into a dataset, in their order, moving only what is needed.

        Hashes every file (in ``threads`` threads) and asks which hashes the dataset lacks;
        uploads, in parallel, those whose content the server cannot attach by hash; then adds
        all the missing images in the order of ``images``. Images the server rejects (too
        small, not decodable…) are listed in ``rejected``.
        """
        with ThreadPoolExecutor(max_workers=threads) as pool:
            hashes: list[str] = []
            digests = _bounded_map(pool, lambda i: sha256_of(i.path), images, 4 * threads)
            for done, digest in enumerate(digests, 1):
                hashes.append(digest)
                progress("hashing", done, len(images))
        result = BulkUpload()
        by_hash: dict[str, list[LocalImage]] = {}
        for image, digest in zip(images, hashes, strict=True):
            by_hash.setdefault(digest, []).append(image)
        unique = list(by_hash)
        missing: list[str] = []
        attachable: set[str] = set()
        for start in range(0, len(unique), HASH_BATCH):
            answer = self.missing_images(dataset_id, unique[start : start + HASH_BATCH])
            missing += answer["missing"]
            attachable.update(answer["attachable"])
            for row in answer["present"]:
                result.present += 1
                for image in by_hash[row["sha256"]]:
                    result.ids[image.key] = row["id"]
        to_upload = [digest for digest in missing if digest not in attachable]
        rejected = self._stage_all(dataset_id, to_upload, by_hash, result, threads, progress)
        self._attach(dataset_id, [d for d in missing if d not in rejected], by_hash, result)
        result.uploaded = len(to_upload) - len(rejected)
        result.attached -= result.uploaded
        return result

    def _stage_all(
        self,
        dataset_id: int,
        hashes: list[str],
        by_hash: dict[str, list[LocalImage]],
        result: BulkUpload,
        threads: int,
        progress: Progress,
    ) -> set[str]:
        """Upload ``hashes`` in parallel; returns those the server rejected."""

        def send(digest: str) -> ClientError | None:
            try:
                self.stage_image(dataset_id, by_hash[digest][0].path)
            except ClientError as exc:
                if exc.status in (413, 422):
                    return exc
                raise
            return None

        rejected: set[str] = set()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            errors = _bounded_map(pool, send, hashes, 4 * threads)
            for done, (digest, error) in enumerate(zip(hashes, errors, strict=True), 1):
                progress("uploading", done, len(hashes))
                if error is not None:
                    rejected.add(digest)
                    self._record(result, by_hash[digest], None, error)
        return rejected

    def _attach(
        self,
        dataset_id: int,
        missing: list[str],
        by_hash: dict[str, list[LocalImage]],
        result: BulkUpload,
    ) -> None:
        """Add the staged or readable images ``missing``, in order."""
        for start in range(0, len(missing), HASH_BATCH):
            batch = missing[start : start + HASH_BATCH]
            payload = [
                {
                    "sha256": digest,
                    "filename": by_hash[digest][0].filename,
                    "metadata": by_hash[digest][0].metadata,
                    "source_id": by_hash[digest][0].source_id,
                }
                for digest in batch
            ]
            answer = self.attach_images(dataset_id, payload)
            for image in answer["images"]:
                result.attached += 1
                self._record(result, by_hash[image["sha256"]], image, None)
            for row in answer["rejected"]:
                error = ClientError(422, row["code"], row["message"], {})
                self._record(result, by_hash[row["sha256"]], None, error)
            if answer["missing"]:
                raise ClientError(
                    409,
                    "images_vanished",
                    "the server no longer holds some uploaded images; run the import again",
                    {"sha256": answer["missing"][:20]},
                )

    @staticmethod
    def _record(
        result: BulkUpload,
        images: list[LocalImage],
        sent: JSON | None,
        error: ClientError | None,
    ) -> None:
        for image in images:
            if sent is not None:
                result.ids[image.key] = int(sent["id"])
                result.new.add(image.key)
            elif error is not None:
                result.rejected.append(
                    {"file": str(image.path), "code": error.code, "message": error.message}
                )

    def add_annotations(
        self,
        dataset_id: int,
        annotations: Iterable[JSON],
        *,
        batch_size: int = ANNOTATION_BATCH,
        in_flight: int = 2,
        progress: Progress = _no_progress,
        total: int | None = None,
    ) -> int:
        """Send annotations in batches, ``in_flight`` requests at a time (the next batch is read
        and encoded while the server checks the last); each batch is all or nothing. The first
        batches are smaller (2,500, then 5,000…, up to ``batch_size``) so that the server
        starts early.

        On an invalid batch, raises the server's ``invalid_annotations`` error with every
        ``index`` counted from the first annotation of ``annotations``; batches sent before it
        stay.
        """

        def send(offset: int, body: bytes, count: int) -> int:
            try:
                self.post(
                    f"/datasets/{dataset_id}/annotations",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
            except ClientError as exc:
                for error in exc.details.get("errors", []):
                    error["index"] += offset
                raise
            return count

        sent = 0
        offset = 0
        pending: deque[Future[int]] = deque()
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            for body, count in _encoded_batches(annotations, batch_size):
                if len(pending) >= in_flight:
                    sent += pending.popleft().result()
                    progress("annotations", sent, total)
                pending.append(pool.submit(send, offset, body, count))
                offset += count
            while pending:
                sent += pending.popleft().result()
                progress("annotations", sent, total)
        return sent

    def _label_set(
        self, dataset_id: int, name: str, kind: str, *, replace: bool
    ) -> tuple[JSON, bool]:
        """The label set ``name`` (created if need be) and whether it already has annotations
        (after clearing it when ``replace``)."""
        for label_set in self.list_label_sets(dataset_id):
            if label_set["name"] == name:
                if replace:
                    self.delete(f"/label-sets/{label_set['id']}/annotations")
                    return label_set, False
                stats = self.dataset_stats(dataset_id)
                count = next(
                    s["num_annotations"] for s in stats["label_sets"] if s["id"] == label_set["id"]
                )
                return label_set, count > 0
        return self.create_label_set(dataset_id, name, kind), False

    def _resolve_label_set(self, dataset_id: int, name: str | None) -> JSON | None:
        """``name``, or by default the only label set, else the first ground truth."""
        label_sets = self.list_label_sets(dataset_id)
        if name is not None:
            for label_set in label_sets:
                if label_set["name"] == name:
                    return label_set
            raise ClientError(404, "label_set_not_found", f"no label set {name!r}", {})
        if len(label_sets) == 1:
            return label_sets[0]
        return next((ls for ls in label_sets if ls["kind"] == "GT"), None)

    def _open_dataset(self, name: str, kind: str) -> JSON:
        found = self.find_dataset(name)
        if found is None:
            return self.create_dataset(name, type=kind, status="importing")
        return self.update_dataset(found["id"], status="importing")

    # --- COCO ---------------------------------------------------------------------------------

    def import_coco(
        self,
        name: str,
        annotations: Path | str,
        images_dir: Path | str | None = None,
        *,
        label_set: str | None = None,
        replace: bool = False,
        threads: int = 4,
        progress: Progress = _no_progress,
    ) -> ImportReport:
        """Import a COCO file into dataset ``name`` (created if need be).

        Instances (boxes, polygons, RLE; ``iscrowd`` → ``is_group``), keypoints with their
        names and skeleton, and captions go to label set ``label_set`` (default ``gt``, kind
        GT). A detection results file (a list) goes to an existing dataset's images (matched
        by their COCO id) as label set ``label_set`` (default ``pred``, kind Pred) with
        ``score`` as ``conf``. Annotations are added for every image when the label set is new
        or empty (or ``replace`` clears it), else only for the images new in this import, so
        importing the same file twice changes nothing.
        """
        path = Path(annotations)
        if coco.is_results_file(path):
            return self._import_results(name, path, label_set or "pred", replace, progress)
        root = Path(images_dir) if images_dir is not None else path.parent
        entries = list(coco.iter_section(path, "images"))
        local = [
            LocalImage(
                path=_safe_join(root, str(entry["file_name"])),
                filename=str(entry["file_name"]),
                key=entry["id"],
                metadata=coco.image_metadata(entry),
                source_id=entry["id"] if isinstance(entry["id"], int) else None,
            )
            for entry in entries
        ]
        absent = [str(image.path) for image in local if not image.path.is_file()]
        if absent:
            raise DatasetImportError(
                "images_not_found",
                f"{len(absent)} images of the COCO file are not in {root}",
                {"files": absent[:20]},
            )
        dataset = self._open_dataset(name, "coco")
        try:
            report = self._import_coco_into(
                dataset, path, local, label_set or "gt", replace, threads, progress
            )
        except BaseException:
            self.update_dataset(dataset["id"], status="failed", detail_status={"coco": "failed"})
            raise
        report.dataset = self.update_dataset(
            dataset["id"], status="ready", detail_status={"coco": "ready"}
        )
        return report

    def _import_coco_into(
        self,
        dataset: JSON,
        path: Path,
        local: list[LocalImage],
        label_set_name: str,
        replace: bool,
        threads: int,
        progress: Progress,
    ) -> ImportReport:
        dataset_id = int(dataset["id"])
        categories = self._coco_categories(dataset_id, path)
        uploaded = self.upload_images_bulk(dataset_id, local, threads=threads, progress=progress)
        progress("images", len(uploaded.ids), len(local))
        label_set, has_annotations = self._label_set(
            dataset_id, label_set_name, "GT", replace=replace
        )
        wanted = uploaded.new if has_annotations else set(uploaded.ids)
        report = ImportReport(dataset, label_set, uploaded)
        for section in coco.SECTIONS:
            if not coco.may_have_section(path, section):
                continue
            converted = self._convert(
                coco.iter_section(path, section),
                uploaded.ids,
                wanted,
                categories,
                label_set,
                report,
            )
            report.annotations += self.add_annotations(dataset_id, converted, progress=progress)
        return report

    def _coco_categories(self, dataset_id: int, path: Path) -> dict[Any, int]:
        """COCO category id → VisionHub category id, creating the missing categories."""
        existing = {c["name"]: c for c in self.list_categories(dataset_id)}
        mapping: dict[Any, int] = {}
        for entry in coco.iter_section(path, "categories"):
            fields = coco.category_fields(entry)
            category = existing.get(fields["name"])
            if category is None:
                category = self.create_category(dataset_id, **fields)
                existing[category["name"]] = category
            mapping[entry["id"]] = int(category["id"])
        return mapping

    @staticmethod
    def _convert(
        entries: Iterable[JSON],
        images: dict[Any, int],
        wanted: set[Any],
        categories: dict[Any, int],
        label_set: JSON,
        report: ImportReport,
    ) -> Iterator[JSON]:
        label_set_id = int(label_set["id"])
        fields = coco.annotation_fields
        for entry in entries:
            key = entry.get("image_id")
            if key not in wanted:
                report.skipped_annotations += key not in images
                continue
            category = entry.get("category_id")
            if category is None:
                category_id = None
            elif (category_id := categories.get(category)) is None:
                raise DatasetImportError(
                    "unknown_category",
                    f"annotation {entry.get('id')} names category {category}, not in the file",
                )
            yield fields(
                entry, image_id=images[key], category_id=category_id, label_set_id=label_set_id
            )

    def _import_results(
        self, name: str, path: Path, label_set_name: str, replace: bool, progress: Progress
    ) -> ImportReport:
        dataset = self.dataset(name)
        dataset_id = int(dataset["id"])
        images = {
            image["source_id"]: int(image["id"])
            for image in self.iter_images(dataset_id)
            if image["source_id"] is not None
        }
        categories = {
            c["source_id"]: int(c["id"])
            for c in self.list_categories(dataset_id)
            if c["source_id"] is not None
        }
        label_set, has_annotations = self._label_set(
            dataset_id, label_set_name, "Pred", replace=replace
        )
        if has_annotations:
            raise DatasetImportError(
                "label_set_not_empty",
                f"label set {label_set_name!r} already has annotations; pass replace to redo it",
            )
        report = ImportReport(dataset, label_set, BulkUpload(ids=images, present=len(images)))
        converted = self._convert(
            coco.iter_results(path), images, set(images), categories, label_set, report
        )
        report.annotations = self.add_annotations(dataset_id, converted, progress=progress)
        return report

    def export_coco(
        self,
        name: str,
        out: Path | str,
        *,
        images_dir: Path | str | None = None,
        label_set: str | None = None,
        threads: int = 4,
        progress: Progress = _no_progress,
    ) -> ExportReport:
        """Write dataset ``name`` as a COCO file (the annotations of ``label_set``, by default
        the only label set or the first ground truth) and, with ``images_dir``, its images
        under their file names (files already there with the same content are kept)."""
        dataset = self.dataset(name)
        chosen = self._resolve_label_set(int(dataset["id"]), label_set)
        params = {"label_set": chosen["id"]} if chosen else {}
        self.stream_to(
            f"/datasets/{dataset['id']}/export/coco", Path(out), params=params, timeout=None
        )
        report = ExportReport(dataset, chosen)
        if images_dir is not None:
            root = Path(images_dir)
            targets = [
                (img, _safe_join(root, img["filename"]))
                for img in self.iter_images(int(dataset["id"]))
            ]
            report.images = len(targets)
            report.downloaded = self._download_all(targets, threads, progress)
        return report

    def _download_all(
        self, targets: Sequence[tuple[JSON, Path]], threads: int, progress: Progress
    ) -> int:
        def fetch(target: tuple[JSON, Path]) -> bool:
            image, dest = target
            if (
                dest.is_file()
                and dest.stat().st_size == image["size"]
                and sha256_of(dest) == image["sha256"]
            ):
                return False
            self.download_image(int(image["id"]), dest)
            return True

        downloaded = 0
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for done, fetched in enumerate(_bounded_map(pool, fetch, targets, 4 * threads), 1):
                downloaded += fetched
                progress("downloading", done, len(targets))
        return downloaded

    # --- ImageFolder --------------------------------------------------------------------------

    def import_folder(
        self,
        name: str,
        directory: Path | str,
        *,
        label_set: str = "gt",
        threads: int = 4,
        progress: Progress = _no_progress,
    ) -> ImportReport:
        """Import an ImageFolder: each sub-folder is a class (its images get a classification
        annotation in ground-truth label set ``label_set``), loose images stay unlabeled.

        Images already in the dataset are not sent again and keep their annotations.
        """
        root = Path(directory)
        if not root.is_dir():
            raise DatasetImportError("folder_not_found", f"{root} is not a folder")
        found = folder.scan(root)
        dataset = self._open_dataset(name, "folder")
        dataset_id = int(dataset["id"])
        try:
            local = [LocalImage(i.path, i.relative, key=i.relative) for i in found]
            uploaded = self.upload_images_bulk(
                dataset_id, local, threads=threads, progress=progress
            )
            report = ImportReport(dataset, None, uploaded)
            labels = {i.relative: i.label for i in found if i.label is not None}
            if labels:
                report.label_set, _ = self._label_set(dataset_id, label_set, "GT", replace=False)
                categories = {c["name"]: int(c["id"]) for c in self.list_categories(dataset_id)}
                for label in sorted(set(labels.values()) - set(categories)):
                    categories[label] = int(self.create_category(dataset_id, label)["id"])
                notes = [
                    {
                        "image_id": uploaded.ids[key],
                        "label_set_id": report.label_set["id"],
                        "category_id": categories[label],
                    }
                    for key, label in labels.items()
                    if key in uploaded.new
                ]
                report.annotations = self.add_annotations(dataset_id, notes, progress=progress)
        except BaseException:
            self.update_dataset(dataset_id, status="failed", detail_status={"folder": "failed"})
            raise
        report.dataset = self.update_dataset(
            dataset_id, status="ready", detail_status={"folder": "ready"}
        )
        return report

    def export_folder(
        self,
        name: str,
        out: Path | str,
        *,
        label_set: str | None = None,
        threads: int = 4,
        progress: Progress = _no_progress,
    ) -> ExportReport:
        """Write dataset ``name`` as an ImageFolder: an image with a classification annotation
        (a category, no geometry) in ``label_set`` goes to ``out/<category>/``, others keep
        their relative file name under ``out``. Clashing names get the content hash."""
        dataset = self.dataset(name)
        dataset_id = int(dataset["id"])
        chosen = self._resolve_label_set(dataset_id, label_set)
        names = {int(c["id"]): c["name"] for c in self.list_categories(dataset_id)}
        classes: dict[int, str] = {}
        if chosen is not None:
            for note in self.iter_annotations(dataset_id, int(chosen["id"])):
                geometry = note["bbox"] or note["segmentation"] or note["keypoints"]
                if note["category_id"] is not None and not geometry:
                    classes.setdefault(int(note["image_id"]), names[int(note["category_id"])])
        root = Path(out)
        taken: set[str] = set()
        targets: list[tuple[JSON, Path]] = []
        for image in self.iter_images(dataset_id):
            label = classes.get(int(image["id"]))
            relative = image["filename"]
            if label is not None:
                relative = f"{label}/{posixpath.basename(relative)}"
            if relative in taken:
                stem, ext = posixpath.splitext(relative)
                relative = f"{stem}-{image['sha256'][:12]}{ext}"
            taken.add(relative)
            targets.append((image, _safe_join(root, relative)))
        report = ExportReport(dataset, chosen, images=len(targets))
        report.downloaded = self._download_all(targets, threads, progress)
        return report
