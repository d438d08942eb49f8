"""Adding, browsing, flagging and removing the images of a dataset."""

from __future__ import annotations

import hashlib
import io
import posixpath
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from visionhub.accounts.models import User
from visionhub.core.deletion import bulk_delete
from visionhub.core.errors import ApiError, Conflict, Invalid, NotFound
from visionhub.datasets.access import readable_datasets
from visionhub.datasets.models import (
    Annotation,
    Category,
    Dataset,
    Image,
    LabelSet,
    StagedImage,
)
from visionhub.datasets.services import counts
from visionhub.datasets.services.decode import (
    ImageTooLarge,
    Rules,
    check_size,
    decode,
    extension,
    max_bytes,
)
from visionhub.storage.base import CHUNK_SIZE
from visionhub.storage.factory import get_store

MAX_HASHES_PER_CALL = 10_000
# A staged image may be attached for 12 hours; ``visionhub gc`` keeps its blobs for 24.
STAGED_ATTACH_SECONDS = 12 * 3600
STAGED_KEEP_SECONDS = 24 * 3600


def rules_of(dataset: Dataset) -> Rules:
    """The upload rules of ``dataset``; every way of adding images asks for them, so a dataset
    whose files are not kept here (``stored`` false) refuses them: 409 ``dataset_not_stored``."""
    if not dataset.stored:
        raise Conflict(
            "dataset_not_stored",
            "this dataset's files are kept outside VisionHub (stored is false)",
            details={"dataset": dataset.pk},
        )
    return Rules(dataset.img_width, dataset.img_height, dataset.maintain_ratio)


def clean_filename(name: str | None) -> str:
    """A safe relative POSIX path: no drive, no leading '/', no '.' or '..' parts, and no
    control or direction-override characters (NUL, CR/LF, U+202E…: they forge log lines,
    headers and what a listing shows)."""
    if not name:
        return ""
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    cleaned = "/".join(parts)
    if len(cleaned) > 400:
        stem, ext = posixpath.splitext(cleaned)
        cleaned = stem[: 400 - len(ext)] + ext[:20]
    return cleaned


def _default_name(sha256: str, fmt: str) -> str:
    return f"{sha256[:16]}{extension(fmt)}"


def _renamed(filename: str, sha256: str) -> str:
    """``filename`` made unique by the content's hash, for a name already taken."""
    stem, ext = posixpath.splitext(filename)
    return f"{stem}-{sha256[:12]}{ext}"


def _hash_stream(source: IO[bytes], limit: int) -> tuple[str, int]:
    source.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        size += len(chunk)
        if size > limit:
            raise _too_many_bytes(size, limit)
        digest.update(chunk)
    return digest.hexdigest(), size


def _too_many_bytes(size: int, limit: int) -> ImageTooLarge:
    return ImageTooLarge(
        message=f"the image has more than {limit} bytes", details={"max_bytes": limit}
    )


def _free_names(dataset: Dataset, wanted: Sequence[tuple[str, str]]) -> list[str]:
    """For each ``(filename, sha256)``, the filename or, if taken, a renamed one."""
    names = [name for name, _ in wanted]
    taken = set(
        Image.objects.filter(dataset=dataset, filename__in=names).values_list("filename", flat=True)
    )
    result: list[str] = []
    for name, sha256 in wanted:
        chosen = _renamed(name, sha256) if name in taken else name
        taken.add(chosen)
        result.append(chosen)
    return result


def _reserve(dataset: Dataset, n: int) -> int:
    """Lock the dataset row, give ``n`` consecutive idx, count them; returns the first idx.

    Must run inside a transaction. The lock serialises concurrent additions to one dataset for
    the few milliseconds of the insert only (decoding and storing happen before).
    """
    locked = Dataset.objects.select_for_update().only("next_idx", "num_images").get(pk=dataset.pk)
    first = locked.next_idx
    Dataset.objects.filter(pk=dataset.pk).update(
        next_idx=first + n, num_images=locked.num_images + n
    )
    dataset.next_idx = first + n
    dataset.num_images = locked.num_images + n
    return first


def _set_cover_if_missing(dataset: Dataset, image_id: int) -> None:
    Dataset.objects.filter(pk=dataset.pk, cover__isnull=True).update(cover_id=image_id)


@dataclass(frozen=True)
class Stored:
    """An image checked against a dataset's rules and stored, with its thumbnail."""

    sha256: str
    size: int
    width: int
    height: int
    format: str
    thumbnail_sha256: str


def _check_and_store(dataset: Dataset, source: IO[bytes], size: int | None) -> Stored | Image:
    """The dataset's existing image of the same content, or the stored, checked new one.

    A rejected image leaves nothing behind, neither blob nor row.
    """
    limit = max_bytes()
    if size is not None and size > limit:
        raise _too_many_bytes(size, limit)
    sha256, nbytes = _hash_stream(source, limit)
    existing = Image.objects.filter(dataset=dataset, sha256=sha256).first()
    if existing is not None:
        return existing
    decoded = decode(source, rules_of(dataset))
    store = get_store()
    source.seek(0)
    store.put(source, expected_sha256=sha256, max_bytes=limit)
    thumbnail = store.put(io.BytesIO(decoded.thumbnail)).sha256
    return Stored(sha256, nbytes, decoded.width, decoded.height, decoded.format, thumbnail)


def add_image(
    dataset: Dataset,
    source: IO[bytes],
    *,
    filename: str = "",
    metadata: dict[str, Any] | None = None,
    source_id: int | None = None,
    size: int | None = None,
) -> tuple[Image, bool]:
    """Add the image in ``source`` (a seekable file) to ``dataset``; return it and whether it
    is new.

    An image with the same content already in the dataset is returned as it is (nothing
    changes). Otherwise the bytes are decoded and checked (``decode.decode``); a rejected image
    leaves nothing behind, neither blob nor row. The image and its thumbnail are stored as
    blobs, then the row is inserted with the next ``idx``. A file name already used in the
    dataset gets the content hash appended.
    """
    stored = _check_and_store(dataset, source, size)
    if isinstance(stored, Image):
        return stored, False
    name = clean_filename(filename) or _default_name(stored.sha256, stored.format)
    row = Image(
        dataset=dataset,
        sha256=stored.sha256,
        size=stored.size,
        width=stored.width,
        height=stored.height,
        format=stored.format,
        thumbnail_sha256=stored.thumbnail_sha256,
        source_id=source_id,
        metadata=metadata or {},
    )
    for candidate in (_free_names(dataset, [(name, row.sha256)])[0], _renamed(name, row.sha256)):
        row.filename = candidate
        try:
            with transaction.atomic():
                row.idx = _reserve(dataset, 1)
                row.save(force_insert=True)
                _set_cover_if_missing(dataset, row.pk)
        except IntegrityError:
            row.pk = None
            raced = Image.objects.filter(dataset=dataset, sha256=row.sha256).first()
            if raced is not None:
                return raced, False
            if source_id is not None and (
                Image.objects.filter(dataset=dataset, source_id=source_id).exists()
            ):
                raise _duplicate_source_id(source_id) from None
            continue  # the file name was taken meanwhile: rename and retry once
        return row, True
    raise ApiError("conflict", "could not name the image; try again", status=409)


def _duplicate_source_id(source_id: int | None) -> Invalid:
    return Invalid(
        "duplicate_source_id",
        f"another image of this dataset has source id {source_id}",
        details={"source_id": source_id},
    )


def stage_image(dataset: Dataset, source: IO[bytes], *, size: int | None = None) -> Stored:
    """Check and store an image for ``dataset`` without adding it yet (see ``StagedImage``).

    ``attach_by_hash`` then adds it, in whatever order the caller wants. Content already in
    the dataset is not staged again.
    """
    stored = _check_and_store(dataset, source, size)
    if isinstance(stored, Image):
        return Stored(
            stored.sha256,
            stored.size,
            stored.width,
            stored.height,
            stored.format,
            stored.thumbnail_sha256,
        )
    now = timezone.now()
    StagedImage.objects.filter(created_at__lt=now - timedelta(seconds=STAGED_KEEP_SECONDS)).delete()
    StagedImage.objects.update_or_create(
        dataset=dataset,
        sha256=stored.sha256,
        defaults={
            "size": stored.size,
            "width": stored.width,
            "height": stored.height,
            "format": stored.format,
            "thumbnail_sha256": stored.thumbnail_sha256,
            "created_at": now,
        },
    )
    return stored


def _staged(dataset: Dataset) -> QuerySet[StagedImage]:
    fresh = timezone.now() - timedelta(seconds=STAGED_ATTACH_SECONDS)
    return StagedImage.objects.filter(dataset=dataset, created_at__gte=fresh)


@dataclass
class HashCheck:
    missing: list[str]
    present: dict[str, int]
    attachable: list[str]


def check_hashes(dataset: Dataset, hashes: Sequence[str], *, by: User) -> HashCheck:
    """Which of ``hashes`` are not images of ``dataset`` yet, the ids of those that are, and
    which of the missing ones ``by`` may add by hash without uploading them (``attachable``)."""
    wanted = _valid_hashes(hashes)
    present = dict(
        Image.objects.filter(dataset=dataset, sha256__in=wanted).values_list("sha256", "id")
    )
    missing = [h for h in wanted if h not in present]
    sources = _attach_sources(dataset, missing, by)
    return HashCheck(missing, present, [h for h in missing if h in sources])


def _attach_sources(dataset: Dataset, hashes: Sequence[str], by: User) -> dict[str, dict[str, Any]]:
    """For each of ``hashes`` that can be attached: the facts of the stored image."""
    fields = ("sha256", "size", "width", "height", "format", "thumbnail_sha256")
    sources: dict[str, dict[str, Any]] = {}
    for row in _staged(dataset).filter(sha256__in=hashes).values(*fields):
        sources[row["sha256"]] = dict(row)
    rest = [h for h in hashes if h not in sources]
    if rest:
        readable = Image.objects.filter(sha256__in=rest, dataset__in=readable_datasets(by))
        for row in readable.values(*fields):
            sources.setdefault(row["sha256"], dict(row))
    return sources


def _valid_hashes(hashes: Sequence[str]) -> list[str]:
    if len(hashes) > MAX_HASHES_PER_CALL:
        raise Invalid(
            "too_many_hashes",
            f"at most {MAX_HASHES_PER_CALL} hashes per call",
            details={"max": MAX_HASHES_PER_CALL},
        )
    bad = [h for h in hashes if len(h) != 64 or not all(c in "0123456789abcdef" for c in h)]
    if bad:
        raise Invalid(
            "invalid_sha256",
            "hashes must be 64 lowercase hex digits",
            details={"invalid": bad[:20]},
        )
    return list(dict.fromkeys(hashes))


@dataclass(frozen=True)
class HashedImage:
    """An image to add by the hash of content the caller can already read."""

    sha256: str
    filename: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    source_id: int | None = None


@dataclass
class AttachResult:
    images: list[Image]
    missing: list[str]
    rejected: list[dict[str, Any]]


def attach_by_hash(dataset: Dataset, items: Sequence[HashedImage], *, by: User) -> AttachResult:
    """Add images whose content is already stored, named by sha256, without uploading it.

    Only content staged for this dataset (``stage_image``) or that ``by`` can already read —
    an image of a dataset they may read — is attached: a hash alone never grants access to
    someone else's data. The images are added in the order of ``items``. Hashes not attachable
    come back in ``missing`` (upload those); images against the dataset's rules come back in
    ``rejected`` with the upload error code. Content already in the dataset is returned as is.
    """
    by_hash = {item.sha256: item for item in items}
    hashes = _valid_hashes(list(by_hash))
    already = {
        image.sha256: image for image in Image.objects.filter(dataset=dataset, sha256__in=hashes)
    }
    found = _attach_sources(dataset, [h for h in hashes if h not in already], by)
    sources = {h: found[h] for h in hashes if h in found}
    rules = rules_of(dataset)
    rejected: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []
    for sha256, row in sources.items():
        try:
            check_size(row["width"], row["height"], rules)
        except ApiError as exc:
            rejected.append({"sha256": sha256, "code": exc.code, "message": exc.message})
            continue
        accepted.append(row)
    new = _insert_known(dataset, [(row, by_hash[row["sha256"]]) for row in accepted])
    _staged(dataset).filter(sha256__in=[image.sha256 for image in new]).delete()
    return AttachResult(
        images=[*already.values(), *new],
        missing=[h for h in hashes if h not in already and h not in sources],
        rejected=rejected,
    )


def _insert_known(
    dataset: Dataset, rows: Sequence[tuple[dict[str, Any], HashedImage]]
) -> list[Image]:
    if not rows:
        return []
    wanted = [
        (
            clean_filename(item.filename) or _default_name(row["sha256"], row["format"]),
            row["sha256"],
        )
        for row, item in rows
    ]
    with transaction.atomic():
        names = _free_names(dataset, wanted)
        first = _reserve(dataset, len(rows))
        images = [
            Image(
                dataset=dataset,
                idx=first + i,
                sha256=row["sha256"],
                size=row["size"],
                width=row["width"],
                height=row["height"],
                format=row["format"],
                thumbnail_sha256=row["thumbnail_sha256"],
                filename=names[i],
                source_id=item.source_id,
                metadata=item.metadata,
            )
            for i, (row, item) in enumerate(rows)
        ]
        try:
            with transaction.atomic():
                Image.objects.bulk_create(images)
        except IntegrityError:
            raise ApiError(
                "conflict",
                "another client added some of these images or names meanwhile; try again",
                status=409,
            ) from None
        _set_cover_if_missing(dataset, images[0].pk)
    return images


@dataclass(frozen=True)
class ImageFilter:
    """Filters of the image list. The annotation conditions (``label_set``, ``category``,
    ``min_conf``, ``max_conf``) apply together to one annotation; ``has_annotations`` says
    whether such an annotation must exist (the default when a condition is given) or not."""

    from_idx: int | None = None
    flag: int | None = None
    label_set: int | None = None
    category: int | None = None
    min_conf: float | None = None
    max_conf: float | None = None
    has_annotations: bool | None = None
    # "Has FP / has FN at precision P" of an evaluation (``evaluation.comparisons``).
    errors: str | None = None
    evaluation: int | None = None
    precision: float | None = None


def browse(dataset: Dataset, f: ImageFilter) -> QuerySet[Image]:
    """The images of ``dataset`` matching ``f`` (unordered; paginate by ``idx``).

    Annotation conditions are ``EXISTS`` subqueries, so an image matching several times still
    appears once, and each test is an index probe on ``annotation (image, label_set)`` or
    ``(category, image)``.
    """
    if (
        f.label_set is not None
        and not LabelSet.objects.filter(pk=f.label_set, dataset=dataset).exists()
    ):
        raise NotFound("label_set_not_found", "no such label set in this dataset")
    if (
        f.category is not None
        and not Category.objects.filter(pk=f.category, dataset=dataset).exists()
    ):
        raise NotFound("category_not_found", "no such category in this dataset")
    images = Image.objects.filter(dataset=dataset)
    if f.from_idx is not None:
        images = images.filter(idx__gte=f.from_idx)
    if f.flag is not None:
        images = images.filter(flag=f.flag)
    matching = Annotation.objects.filter(image=OuterRef("pk"))
    constrained = False
    if f.label_set is not None:
        matching, constrained = matching.filter(label_set_id=f.label_set), True
    if f.category is not None:
        matching, constrained = matching.filter(category_id=f.category), True
    if f.min_conf is not None:
        matching, constrained = matching.filter(conf__gte=f.min_conf), True
    if f.max_conf is not None:
        matching, constrained = matching.filter(conf__lte=f.max_conf), True
    if not constrained and f.has_annotations is not None:
        images = images.filter(annotated=f.has_annotations)  # the (dataset, annotated, idx) index
    elif f.has_annotations is False:
        images = images.filter(~Exists(matching))
    elif constrained:
        images = images.filter(Exists(matching))
    if f.errors is not None or f.evaluation is not None:
        from visionhub.evaluation.comparisons import has_errors

        images = images.filter(has_errors(dataset, f.evaluation, f.precision, f.errors))
    return images


def set_flag(images: QuerySet[Image], flag: int) -> int:
    """Flag every image of ``images`` (0 none, 1 positive, 2 negative) now; returns how many."""
    if flag not in (0, 1, 2):
        raise Invalid("invalid_flag", "flag must be 0, 1 or 2", details={"flag": flag})
    return images.update(flag=flag, flag_ts=timezone.now())


def flag_images(dataset: Dataset, image_ids: Iterable[int], flag: int) -> int:
    """Flag the images ``image_ids`` of ``dataset``, all or none: 404 if one is not in it."""
    ids = set(image_ids)
    with transaction.atomic():
        found = set(Image.objects.filter(dataset=dataset, pk__in=ids).values_list("pk", flat=True))
        if found != ids:
            raise NotFound(
                "image_not_found",
                "some images are not in this dataset",
                details={"image_ids": sorted(ids - found)[:100]},
            )
        return set_flag(Image.objects.filter(pk__in=ids), flag)


def update_image(
    image: Image, *, metadata: dict[str, Any] | None = None, source_id: int | None = None
) -> Image:
    """Replace an image's metadata and/or set its source id."""
    fields: list[str] = []
    if metadata is not None:
        image.metadata = metadata
        fields.append("metadata")
    if source_id is not None:
        image.source_id = source_id
        fields.append("source_id")
    if fields:
        try:
            with transaction.atomic():
                image.save(update_fields=fields)
        except IntegrityError:
            raise _duplicate_source_id(source_id) from None
    return image


def delete_image(image: Image) -> None:
    """Remove an image and its annotations; its idx stays unused (positions never shift).

    The blobs stay until ``visionhub gc`` finds them unreferenced.
    """
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=image.dataset_id).first()
        annotations = Annotation.objects.filter(image=image)
        counts.subtract(annotations)
        annotations.delete()
        Dataset.objects.filter(pk=image.dataset_id, cover_id=image.pk).update(cover=None)
        bulk_delete(Image.objects.filter(pk=image.pk))
        Dataset.objects.filter(pk=image.dataset_id).update(num_images=F("num_images") - 1)
