"""Creating and deleting annotations, in bulk, all or nothing.

``create_annotations`` takes up to ``MAX_PER_REQUEST`` annotations, checks every one against its
image, category and label set (``geometry``), and either inserts them all in one transaction or
raises ``invalid_annotations`` listing every violation as ``{index, field, reason}``. Rows go in
with one ``COPY`` on PostgreSQL and one ``executemany`` on SQLite: the fastest insert each
database has, measured against the raw figure by ``benchmarks/bench_import.py``.

Most annotations of a bulk import have one shape (ids, a box, polygons, an area): ``_fast_row``
checks that shape in one tight function and builds its row; anything else, and anything it
doubts, goes through ``_check``, which names every violation. Both accept exactly the same
annotations (``_fast_row`` only ever says "not sure"), so the error answer does not depend on
which path an annotation took.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from visionhub.core import db
from visionhub.core.errors import Conflict, Invalid, NotFound
from visionhub.datasets.models import (
    Annotation,
    AnnotationCount,
    Category,
    Dataset,
    Image,
    LabelSet,
)
from visionhub.datasets.services import counts, decode, geometry
from visionhub.storage.factory import get_store

MAX_PER_REQUEST = 100_000
_LOOKUP_CHUNK = 5_000

# The columns an insert fills, in the order of the row tuples built by ``_row``.
COLUMNS = (
    "image_id",
    "label_set_id",
    "category_id",
    "conf",
    "is_group",
    "bbox_x",
    "bbox_y",
    "bbox_w",
    "bbox_h",
    "area",
    "segmentation",
    "alpha_sha256",
    "keypoints",
    "caption",
    "confirm_type",
    "compare_result",
    "matched_gt_id",
)


# What an annotation may carry, each with its type test and default.
def _is_int(value: Any) -> bool:
    """An integer a bigint column holds."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


FIELDS: dict[str, tuple[Any, Any, str]] = {
    "image_id": (lambda v: v is None or _is_int(v), None, "an integer"),
    "label_set_id": (_is_int, None, "an integer"),
    "category_id": (lambda v: v is None or _is_int(v), None, "an integer or null"),
    "conf": (_is_number, 1.0, "a number"),
    "is_group": (lambda v: isinstance(v, bool), False, "true or false"),
    "bbox": (lambda v: v is None or isinstance(v, list), None, "a list"),
    "area": (lambda v: v is None or _is_number(v), None, "a number"),
    "segmentation": (lambda v: True, None, ""),
    "keypoints": (lambda v: v is None or isinstance(v, list), None, "a list"),
    "caption": (lambda v: isinstance(v, str), "", "a string"),
    "confirm_type": (_is_int, 0, "an integer"),
    "compare_result": (lambda v: v is None or isinstance(v, dict), None, "an object"),
    "matched_gt_id": (lambda v: v is None or _is_int(v), None, "an integer"),
}


@dataclass
class _Context:
    """What the checks need to know about the dataset, fetched once per request."""

    sizes: dict[int, tuple[int, int]]
    keypoint_names: dict[int, list[str]]
    label_sets: set[int]
    matchable: set[int]


def _ints(items: Sequence[Any], key: str) -> list[int]:
    """The distinct integers ``items`` give as ``key`` (not ``True``, which a set would take
    for 1)."""
    values = {
        v
        for item in items
        if isinstance(item, dict)
        and isinstance(v := item.get(key), int)
        and not isinstance(v, bool)
    }
    return sorted(v for v in values if _is_int(v))


def _image_sizes(dataset: Dataset, wanted: list[int]) -> dict[int, tuple[int, int]]:
    """Width and height of those of ``wanted`` that are images of ``dataset``."""
    table = connection.ops.quote_name(Image._meta.db_table)
    sizes: dict[int, tuple[int, int]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            condition, params = db.id_in("id", wanted[start : start + _LOOKUP_CHUNK])
            cursor.execute(
                f"SELECT id, width, height FROM {table} WHERE dataset_id = %s AND {condition}",  # noqa: S608
                [dataset.pk, *params],
            )
            sizes.update((pk, (w, h)) for pk, w, h in cursor.fetchall())
    return sizes


def _context(dataset: Dataset, items: Sequence[Any], image: Image | None) -> _Context:
    if image is not None:
        sizes = {image.pk: (image.width, image.height)}
    else:
        sizes = _image_sizes(dataset, _ints(items, "image_id"))
    keypoint_names = dict(
        Category.objects.filter(dataset=dataset).values_list("pk", "keypoint_names")
    )
    label_sets = set(LabelSet.objects.filter(dataset=dataset).values_list("pk", flat=True))
    matched = _ints(items, "matched_gt_id")
    matchable = set(
        Annotation.objects.filter(pk__in=matched, label_set__dataset=dataset).values_list(
            "pk", flat=True
        )
    )
    return _Context(sizes, keypoint_names, label_sets, matchable)


def _dump(value: Any) -> str | None:
    """``value`` as the JSON text of its column (orjson: a third of the time of ``json``)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a Python caller's value orjson does not know (a numpy scalar…)
        return json.dumps(value, separators=(",", ":"))


DEFAULTS = {key: default for key, (_, default, _) in FIELDS.items()}


def _typed(item: Any) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The fields of ``item`` with their defaults, or what is wrong with their types."""
    if not isinstance(item, dict):
        return [("", "an annotation is a JSON object")], {}
    errors: list[tuple[str, str]] = []
    for key, value in item.items():
        rule = FIELDS.get(key)
        if rule is None:
            errors.append((key, "unknown field"))
        elif not rule[0](value):
            errors.append((key, f"{key} must be {rule[2]}"))
    if "label_set_id" not in item:
        errors.append(("label_set_id", "label_set_id is required"))
    return errors, {**DEFAULTS, **item}


def _check(
    item: Any, image: Image | None, ctx: _Context
) -> tuple[list[tuple[str, str]], tuple[Any, ...] | None]:
    """The violations of one annotation, or its row for the insert."""
    errors, a = _typed(item)
    if errors:
        return errors, None
    image_id = image.pk if image is not None else a["image_id"]
    size = ctx.sizes.get(image_id) if image_id is not None else None
    if image_id is None:
        errors.append(("image_id", "image_id is required"))
    elif size is None:
        errors.append(("image_id", "no such image in this dataset"))
    if a["label_set_id"] not in ctx.label_sets:
        errors.append(("label_set_id", "no such label set in this dataset"))
    category = a["category_id"]
    if category is not None and category not in ctx.keypoint_names:
        errors.append(("category_id", "no such category in this dataset"))
    if not 0.0 <= a["conf"] <= 1.0:
        errors.append(("conf", "conf must be between 0 and 1"))
    if a["confirm_type"] not in (0, 1, 2):
        errors.append(("confirm_type", "confirm_type must be 0, 1 or 2"))
    if a["matched_gt_id"] is not None and a["matched_gt_id"] not in ctx.matchable:
        errors.append(("matched_gt_id", "no such annotation in this dataset"))
    if a["area"] is not None and not a["area"] >= 0:
        errors.append(("area", "area must not be negative"))
    bbox, segmentation, keypoints = a["bbox"], a["segmentation"], a["keypoints"]
    if size is not None:
        width, height = size
        if bbox is not None and (reason := geometry.check_bbox(bbox, width, height)):
            errors.append(("bbox", reason))
        if segmentation is not None and (
            reason := geometry.check_segmentation(segmentation, width, height)
        ):
            errors.append(("segmentation", reason))
    if keypoints is not None:
        if category is None:
            errors.append(("keypoints", "keypoints need a category with keypoint names"))
        elif category in ctx.keypoint_names and (
            reason := geometry.check_keypoints(keypoints, ctx.keypoint_names[category])
        ):
            errors.append(("keypoints", reason))
    if errors:
        return errors, None
    area = a["area"]
    if area is None:
        area = geometry.area_of(bbox, segmentation)
    row = (
        image_id,
        a["label_set_id"],
        category,
        float(a["conf"]),
        a["is_group"],
        *(bbox or (None, None, None, None)),
        area,
        _dump(segmentation),
        "",
        _dump(keypoints),
        a["caption"],
        a["confirm_type"],
        _dump(a["compare_result"]),
        a["matched_gt_id"],
    )
    return [], row


# What ``_fast_row`` handles; an annotation with any other field takes ``_check``.
_FAST_FIELDS = frozenset(
    {"image_id", "label_set_id", "category_id", "conf", "is_group", "bbox", "area", "segmentation"}
)


def _fast_row(item: Any, ctx: _Context) -> tuple[Any, ...] | None:
    """The row of a valid annotation of the common shape, or None: not that shape, or not
    valid, or not sure; ``_check`` then decides and says why. Everything accepted here
    ``_check`` accepts too, giving the same row (``test_annotations`` holds them together).

    Exact type tests (``type(v) is int``) refuse ``bool`` as ``_check`` does, and comparisons
    refuse NaN and infinities (every comparison with NaN is false; an infinite box or
    coordinate fails its bound)."""
    if type(item) is not dict or not item.keys() <= _FAST_FIELDS:
        return None
    get = item.get
    image_id = get("image_id")
    label_set_id = get("label_set_id")
    category_id = get("category_id")
    if (
        type(image_id) is not int
        or type(label_set_id) is not int
        or label_set_id not in ctx.label_sets
        or (
            category_id is not None
            and (type(category_id) is not int or category_id not in ctx.keypoint_names)
        )
    ):
        return None
    size = ctx.sizes.get(image_id)
    if size is None:
        return None
    conf = get("conf", 1.0)
    if (type(conf) is not float and type(conf) is not int) or not 0.0 <= conf <= 1.0:
        return None
    is_group = get("is_group", False)
    if is_group is not False and is_group is not True:
        return None
    bbox = get("bbox")
    if bbox is None:
        x = y = w = h = None
    else:
        if type(bbox) is not list or len(bbox) != 4:
            return None
        x, y, w, h = bbox
        tx, ty, tw, th = type(x), type(y), type(w), type(h)
        width, height = size
        tol = geometry.BBOX_TOLERANCE
        if not (
            (tx is float or tx is int) and (ty is float or ty is int)
            and (tw is float or tw is int) and (th is float or th is int)
            and w >= 0 and h >= 0 and x >= -tol and y >= -tol
            and x + w <= width + tol and y + h <= height + tol
        ):  # fmt: skip
            return None
    segmentation = get("segmentation")
    if segmentation is None:
        text = None
    else:
        if type(segmentation) is not list or not segmentation:
            return None  # an RLE mask, or not valid
        try:
            for polygon in segmentation:
                if (
                    type(polygon) is not list
                    or len(polygon) % 2
                    or len(polygon) < 6
                    or not math.isfinite(sum(polygon))  # TypeError: not all numbers
                ):
                    return None
        except TypeError:
            return None
        text = orjson.dumps(segmentation).decode()
    area = get("area")
    if area is None:
        area = geometry.area_of(bbox, segmentation)
    elif (type(area) is not float and type(area) is not int) or not area >= 0:
        return None
    return (image_id, label_set_id, category_id, float(conf), is_group, x, y, w, h, area, text,
            "", None, "", 0, None, None)  # fmt: skip


def validate(
    dataset: Dataset, items: Sequence[Any], *, image: Image | None = None
) -> list[tuple[Any, ...]]:
    """The insert rows for ``items`` (decoded JSON: see ``schemas.AnnotationIn``), or
    ``invalid_annotations`` listing every violation, type errors included."""
    return _validate(dataset, items, image)[0]


def _validate(
    dataset: Dataset, items: Sequence[Any], image: Image | None
) -> tuple[list[tuple[Any, ...]], _Context]:
    """``validate``, and what it fetched: once it passes, ``ctx.sizes`` has exactly the images
    the rows name."""
    if len(items) > MAX_PER_REQUEST:
        raise Invalid(
            "too_many_annotations",
            f"at most {MAX_PER_REQUEST} annotations per request",
            details={"max": MAX_PER_REQUEST, "got": len(items)},
        )
    ctx = _context(dataset, items, image)
    rows: list[tuple[Any, ...]] = []
    violations: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        row = _fast_row(item, ctx) if image is None else None
        if row is None:
            errors, row = _check(item, image, ctx)
            if row is None:
                violations.extend({"index": index, "field": f, "reason": r} for f, r in errors)
                continue
        rows.append(row)
    if violations:
        raise Invalid(
            "invalid_annotations",
            f"{len({v['index'] for v in violations})} of {len(items)} annotations are not valid; "
            "none was saved",
            details={"errors": violations},
        )
    return rows, ctx


def _insert(rows: Sequence[tuple[Any, ...]]) -> None:
    quote = connection.ops.quote_name
    table = quote(Annotation._meta.db_table)
    columns = ", ".join(quote(c) for c in COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw: Any = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def _kinds(rows: Sequence[tuple[Any, ...]], known: set[str]) -> set[str]:
    """The ``object_types`` of ``rows`` not in ``known``: one scan per kind, stopping at its
    first row, instead of a set per row."""
    kinds: set[str] = set()
    tests = {
        "detection": lambda row: row[5] is not None,
        "segmentation": lambda row: row[10] is not None,
        "keypoints": lambda row: row[12] is not None,
        "caption": lambda row: bool(row[13]),
        "classification": lambda row: (
            row[2] is not None
            and not (row[5] is not None or row[10] is not None or row[12] is not None or row[13])
        ),
    }
    for kind, test in tests.items():
        if kind not in known and any(map(test, rows)):
            kinds.add(kind)
    return kinds


def _record(
    dataset: Dataset, rows: Sequence[tuple[Any, ...]], images: Iterable[int] | None = None
) -> None:
    """Keep the counters, the images' flags and the dataset's object types right for ``rows``
    (``images``: the images they name, when the caller knows them already)."""
    counts.add(Counter((row[1], row[2] or 0) for row in rows))
    counts.mark_annotated(images if images is not None else (row[0] for row in rows))
    kinds = _kinds(rows, set(dataset.object_types))
    if kinds:
        dataset.object_types = sorted(kinds | set(dataset.object_types))
        Dataset.objects.filter(pk=dataset.pk).update(object_types=dataset.object_types)


@contextmanager
def _references_checked_here() -> Iterator[bool]:
    """On SQLite, run the block with the foreign-key checks of this connection off; yields
    whether they are off (they stay on inside an enclosing transaction, where SQLite cannot
    change them). SQLite looks up the image, label set and category of every inserted row,
    a quarter of the insert's time, while ``_references_exist`` needs one query per batch."""
    off = connection.vendor == "sqlite" and connection.disable_constraint_checking()
    try:
        yield off
    finally:
        if off:
            connection.enable_constraint_checking()


def _references_exist(dataset: Dataset, rows: Sequence[tuple[Any, ...]], images: list[int]) -> bool:
    """Whether ``images`` (those ``rows`` name) and every label set and category of ``rows``
    are still in ``dataset``."""
    label_sets = {row[1] for row in rows}
    categories = {row[2] for row in rows} - {None}
    table = connection.ops.quote_name(Image._meta.db_table)
    found = 0
    with connection.cursor() as cursor:
        for start in range(0, len(images), _LOOKUP_CHUNK):
            condition, params = db.id_in("id", images[start : start + _LOOKUP_CHUNK])
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE dataset_id = %s AND {condition}",  # noqa: S608
                [dataset.pk, *params],
            )
            found += cursor.fetchone()[0]
    return (
        found == len(images)
        and LabelSet.objects.filter(dataset=dataset, pk__in=label_sets).count() == len(label_sets)
        and Category.objects.filter(dataset=dataset, pk__in=categories).count() == len(categories)
    )


def create_annotations(dataset: Dataset, items: Sequence[Any]) -> int:
    """Insert ``items`` (each naming its image) into ``dataset``, all or none; return how many.

    The checks run before the transaction, so that several requests check their batches in
    parallel and only the insert is serialised. On SQLite the insert then runs without the
    database's foreign-key checks; instead, inside the transaction (which holds the write lock,
    so nothing can be deleted until it commits), one query per kind confirms that what the
    rows name still exists. Either way, an image, label set or category deleted between the
    checks and the insert gives ``invalid_annotations`` and nothing is written.
    """
    rows, ctx = _validate(dataset, items, None)
    images = sorted(ctx.sizes)
    try:
        with _references_checked_here() as unchecked, transaction.atomic():
            if unchecked and not _references_exist(dataset, rows, images):
                validate(dataset, items)  # raises invalid_annotations, naming what went
                raise Conflict("dataset_changed", "the dataset changed; send the batch again")
            _insert(rows)
            _record(dataset, rows, images)
    except IntegrityError:
        # PostgreSQL checks the references at commit: if something went since the checks,
        # answer which annotations name it, as the checks would have.
        validate(dataset, items)
        raise
    return len(rows)


def create_image_annotations(image: Image, items: Sequence[Any]) -> list[Annotation]:
    """Insert ``items`` on ``image`` (their ``image_id`` is ignored), all or none; return them."""
    rows = validate(image.dataset, items, image=image)
    objects = [Annotation(**dict(zip(COLUMNS, _loaded(row), strict=True))) for row in rows]
    with transaction.atomic():
        created = Annotation.objects.bulk_create(objects)
        _record(image.dataset, rows)
    return created


def _loaded(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row with its JSON columns as Python values again, for the ORM."""
    values = list(row)
    for name in ("segmentation", "keypoints", "compare_result"):
        i = COLUMNS.index(name)
        values[i] = None if values[i] is None else json.loads(values[i])
    return tuple(values)


def delete_annotations(annotations: QuerySet[Annotation]) -> int:
    """Delete ``annotations`` and keep the counters right; returns how many went."""
    with transaction.atomic():
        counts.subtract(annotations)
        images = list(annotations.order_by().values_list("image_id", flat=True).distinct())
        deleted, _ = annotations.delete()
        counts.unmark_bare_ids(images)
    return deleted


def clear_label_set(label_set: LabelSet) -> int:
    """Delete every annotation of ``label_set``."""
    with transaction.atomic():
        deleted, _ = Annotation.objects.filter(label_set=label_set).delete()
        AnnotationCount.objects.filter(label_set=label_set).delete()
        counts.unmark_bare(Image.objects.filter(dataset_id=label_set.dataset_id))
    return deleted


def per_image(image: Image, label_set: LabelSet | None) -> QuerySet[Annotation]:
    annotations = Annotation.objects.filter(image=image)
    if label_set is not None:
        annotations = annotations.filter(label_set=label_set)
    return annotations


def set_alpha(annotation: Annotation, source: IO[bytes]) -> Annotation:
    """Store an alpha matte for ``annotation``: any image Pillow decodes, exactly the size of
    the annotated image (422 ``alpha_size_mismatch`` otherwise)."""
    image = annotation.image
    decoded = decode.decode(source, decode.Rules())
    if (decoded.width, decoded.height) != (image.width, image.height):
        raise Invalid(
            "alpha_size_mismatch",
            f"the matte is {decoded.width}x{decoded.height}, the image {image.width}x{image.height}",
        )
    source.seek(0)
    blob = get_store().put(source, max_bytes=decode.max_bytes())
    annotation.alpha_sha256 = blob.sha256
    annotation.save(update_fields=["alpha_sha256"])
    return annotation


def alpha_of(annotation: Annotation) -> str:
    if not annotation.alpha_sha256:
        raise NotFound("alpha_not_found", "this annotation has no alpha matte")
    return annotation.alpha_sha256
