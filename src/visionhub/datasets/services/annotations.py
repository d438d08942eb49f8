"""Creating and deleting annotations, in bulk, all or nothing.

``create_annotations`` takes up to ``MAX_PER_REQUEST`` annotations, checks every one against its
image, category and label set (``geometry``), and either inserts them all in one transaction or
raises ``invalid_annotations`` listing every violation as ``{index, field, reason}``. Rows go in
with one ``COPY`` on PostgreSQL and multi-row ``INSERT`` statements on SQLite: the fastest
insert each database has, measured against the raw figure by ``benchmarks/bench_import.py``.

A JSON body (``create_annotations_json``, what the API's bulk endpoint takes) is decoded by
msgspec straight into typed structs, its geometry left as raw JSON text; most annotations of
a bulk import (ids, a box, polygons, an area) then need a few comparisons each (``_typed_row``).
Anything else, and anything that path doubts, goes through ``_check``, which names every
violation. Both accept exactly the same annotations with the same rows, so the answer does not
depend on which path an annotation took.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from typing import IO, Annotated, Any

import msgspec
import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from visionhub.core import db
from visionhub.core.errors import ApiError, Conflict, Invalid, NotFound
from visionhub.core.text import check_json_values
from visionhub.datasets import shape, sql
from visionhub.datasets.models import (
    Annotation,
    AnnotationCount,
    Category,
    Dataset,
    Image,
    LabelSet,
)
from visionhub.datasets.services import counts, decode, geometry
from visionhub.datasets.sql import COLUMNS
from visionhub.storage.factory import get_store

MAX_PER_REQUEST = 100_000


# The shape of an annotation, its checks and its typed struct: ``datasets/shape.py``.
FIELDS = shape.CHECKS
_is_int = shape.is_int


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


def _dataset_images(dataset: Dataset, ids: list[int], columns: str) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns`` over the images of ``dataset`` among ``ids``, a chunk of ids per
    query (``columns`` is a constant of this module, never client input)."""
    table = connection.ops.quote_name(Image._meta.db_table)
    with connection.cursor() as cursor:
        for condition, params in db.id_in_chunks("id", ids):
            cursor.execute(
                sql.DATASET_IMAGES.format(columns=columns, table=table, condition=condition),
                [dataset.pk, *params],
            )
            yield from cursor.fetchall()


def _image_sizes(dataset: Dataset, wanted: list[int]) -> dict[int, tuple[int, int]]:
    """Width and height of those of ``wanted`` that are images of ``dataset``."""
    return {pk: (w, h) for pk, w, h in _dataset_images(dataset, wanted, "id, width, height")}


def _context(dataset: Dataset, items: Sequence[Any], image: Image | None) -> _Context:
    if image is not None:
        sizes = {image.pk: (image.width, image.height)}
    else:
        sizes = _image_sizes(dataset, _ints(items, "image_id"))
    return _context_for(dataset, sizes, _ints(items, "matched_gt_id"))


def _context_for(
    dataset: Dataset, sizes: dict[int, tuple[int, int]], matched: list[int]
) -> _Context:
    keypoint_names = dict(
        Category.objects.filter(dataset=dataset).values_list("pk", "keypoint_names")
    )
    label_sets = set(LabelSet.objects.filter(dataset=dataset).values_list("pk", flat=True))
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
    except TypeError as exc:  # a Python caller's value orjson does not know (a numpy scalar…)
        if "Recursion" in str(exc):  # nested past orjson's 255 levels: json would overflow
            check_json_values(value)
        return json.dumps(value, separators=(",", ":"))


DEFAULTS = shape.DEFAULTS


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
    errors.extend((name, f"{name} is required") for name in shape.REQUIRED if name not in item)
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


# --- the typed path of JSON bodies ------------------------------------------------------------
#
# A bulk body is decoded by msgspec straight into ``shape.Item`` structs: the types are checked in C
# while decoding, and the geometry columns stay as the raw JSON text they arrived as
# (``msgspec.Raw``), so a polygon is never built as Python lists only to be encoded again for
# its column. Whatever this path doubts (a body msgspec refuses, an RLE mask, keypoints…) goes
# to ``_check``, which names every violation; both accept exactly the same annotations with
# the same rows (``tests/datasets/test_bulk_paths.py`` holds them together).

_NULL = shape.NULL


def _as_dict(item: Any) -> dict[str, Any]:
    """A decoded ``shape.Item`` as ``orjson`` would have decoded it, for ``_check``."""
    fields = msgspec.structs.asdict(item)
    for name in shape.RAW_FIELDS:
        try:
            fields[name] = orjson.loads(bytes(fields[name]))
        except orjson.JSONDecodeError:  # a number past 64 bits: what decode_body says
            raise ApiError("invalid_json", "the request body is not valid JSON") from None
    return fields


_BODY = msgspec.json.Decoder(shape.Body)
# Every number msgspec decodes is finite: it refuses a literal past the float range.
_POLYGONS = msgspec.json.Decoder(list[Annotated[list[float], msgspec.Meta(min_length=6)]])
_BLANKS = b" \t\n\r"


def _typed_row(item: Any, ctx: _Context) -> tuple[Any, ...] | None:
    """The row of ``item`` if it is valid and of a shape this path knows (polygons or no
    segmentation, no keypoints, no comparison), else None: ``_check`` then decides."""
    image_id = item.image_id
    category_id = item.category_id
    matched = item.matched_gt_id
    size = ctx.sizes.get(image_id) if image_id is not None else None
    if (
        size is None
        or item.label_set_id not in ctx.label_sets
        or (category_id is not None and category_id not in ctx.keypoint_names)
        or not 0.0 <= item.conf <= 1.0
        or item.confirm_type not in (0, 1, 2)
        or (matched is not None and matched not in ctx.matchable)
        or item.keypoints != _NULL
        or item.compare_result != _NULL
    ):
        return None
    bbox = item.bbox
    if bbox is None:
        x = y = w = h = None
    else:
        if len(bbox) != 4:
            return None
        x, y, w, h = bbox
        width, height = size
        tol = geometry.BBOX_TOLERANCE
        if not (
            w >= 0 and h >= 0 and x >= -tol and y >= -tol
            and x + w <= width + tol and y + h <= height + tol
        ):  # fmt: skip
            return None
    raw = item.segmentation
    polygons: list[list[float]] | None = None
    text = None
    if raw != _NULL:
        try:
            polygons = _POLYGONS.decode(raw)
        except msgspec.DecodeError:  # an RLE mask, or not valid
            return None
        if not polygons or any(len(polygon) % 2 for polygon in polygons):
            return None
        # Only numbers, commas and brackets remain: the column holds the text as it came.
        text = bytes(raw).translate(None, _BLANKS).decode()
    area = item.area
    if area is None:
        area = geometry.area_of(bbox, polygons)
    elif not area >= 0:
        return None
    return (image_id, item.label_set_id, category_id, item.conf, item.is_group, x, y, w, h,
            area, text, "", None, item.caption, item.confirm_type, None, matched)  # fmt: skip


def _typed_rows(
    dataset: Dataset, items: list[Any]
) -> tuple[list[tuple[Any, ...]], _Context] | None:
    """``_validate`` for decoded structs, or None if any annotation is not valid: the careful
    path then answers, in the words it would use for the plain JSON (``[1.5, 2, 3, 4]``, not
    the decoded ``[1.5, 2.0, 3.0, 4.0]``)."""
    _check_count(items)
    wanted = sorted({item.image_id for item in items if item.image_id is not None})
    matched = sorted({item.matched_gt_id for item in items if item.matched_gt_id is not None})
    ctx = _context_for(dataset, _image_sizes(dataset, wanted), matched)
    rows: list[tuple[Any, ...]] = []
    for item in items:
        row = _typed_row(item, ctx)
        if row is None:
            _, row = _check(_as_dict(item), None, ctx)
            if row is None:
                return None
        rows.append(row)
    return rows, ctx


def decode_body(body: bytes) -> list[Any]:
    """The annotations of a body ``{"annotations": [...]}``, as plain JSON values."""
    try:
        # orjson refuses what is not JSON (NaN, Infinity, lone surrogates), which ``json``
        # lets in.
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError("invalid_json", "the request body is not valid JSON") from None
    items = decoded.get("annotations") if isinstance(decoded, dict) else None
    if not isinstance(items, list):
        raise Invalid("invalid_body", 'the body must be {"annotations": [...]}')
    return items


def validate(
    dataset: Dataset, items: Sequence[Any], *, image: Image | None = None
) -> list[tuple[Any, ...]]:
    """The insert rows for ``items`` (decoded JSON: see ``datasets/shape.py``), or
    ``invalid_annotations`` listing every violation, type errors included."""
    return _validate(dataset, items, image)[0]


# The label set id annotations outside any label set are checked with: no row has id 0.
DETACHED = 0


def validate_detached(image: Image, items: Sequence[Any]) -> list[tuple[Any, ...]]:
    """``validate`` for annotations of ``image`` that belong to no label set yet (a labeling
    project's labels, written to a label set when the project is exported): the same checks
    and the same ``invalid_annotations`` answer; the items carry no ``label_set_id``."""
    _check_count(items)
    marked = [
        {**item, "label_set_id": DETACHED} if isinstance(item, dict) else item for item in items
    ]
    ctx = _context(image.dataset, marked, image)
    ctx.label_sets.add(DETACHED)
    return _checked_rows(marked, image, ctx)


def _check_count(items: Sequence[Any]) -> None:
    if len(items) > MAX_PER_REQUEST:
        raise Invalid(
            "too_many_annotations",
            f"at most {MAX_PER_REQUEST} annotations per request",
            details={"max": MAX_PER_REQUEST, "got": len(items)},
        )


def _raise_violations(violations: list[dict[str, Any]], total: int) -> None:
    if violations:
        raise Invalid(
            "invalid_annotations",
            f"{len({v['index'] for v in violations})} of {total} annotations are not valid; "
            "none was saved",
            details={"errors": violations},
        )


def _validate(
    dataset: Dataset, items: Sequence[Any], image: Image | None
) -> tuple[list[tuple[Any, ...]], _Context]:
    """``validate``, and what it fetched: once it passes, ``ctx.sizes`` has exactly the images
    the rows name."""
    _check_count(items)
    ctx = _context(dataset, items, image)
    return _checked_rows(items, image, ctx), ctx


def _checked_rows(
    items: Sequence[Any], image: Image | None, ctx: _Context
) -> list[tuple[Any, ...]]:
    """The rows of ``items``, or ``invalid_annotations`` naming every violation."""
    rows: list[tuple[Any, ...]] = []
    violations: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        errors, row = _check(item, image, ctx)
        if row is None:
            violations.extend({"index": index, "field": f, "reason": r} for f, r in errors)
        else:
            rows.append(row)
    _raise_violations(violations, len(items))
    return rows


# Rows per INSERT statement on SQLite (fewer if the library allows fewer parameters).
_SQLITE_ROWS_PER_STATEMENT = 1000


def _insert(rows: Sequence[tuple[Any, ...]]) -> None:
    quote = connection.ops.quote_name
    table = quote(Annotation._meta.db_table)
    columns = ", ".join(quote(c) for c in COLUMNS)
    with connection.cursor() as cursor:
        raw: Any = cursor.cursor  # the driver's own cursor
        statement = sql.INSERT_ANNOTATIONS.current.format(table=table, columns=columns)
        if connection.vendor == "postgresql":
            with raw.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            _insert_sqlite(raw, statement, rows)


def _insert_sqlite(cursor: sqlite3.Cursor, insert: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows go in by the thousand per statement, not one per ``executemany`` step: a third
    faster alone, and above all, the GIL is released for the whole statement instead of once
    per row. Beside a busy thread (another request being checked in the same server process)
    a row-by-row insert waits for the GIL at every row, and crawls (``benchmarks/README.md``)."""
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMNS)
    per = max(1, min(_SQLITE_ROWS_PER_STATEMENT, limit))
    one = "(" + ", ".join(["?"] * len(COLUMNS)) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        cursor.execute(insert + ", ".join([one] * len(chunk)), list(chain.from_iterable(chunk)))


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
    found = sum(n for (n,) in _dataset_images(dataset, images, "count(*)"))
    return (
        found == len(images)
        and LabelSet.objects.filter(dataset=dataset, pk__in=label_sets).count() == len(label_sets)
        and Category.objects.filter(dataset=dataset, pk__in=categories).count() == len(categories)
    )


def create_annotations(dataset: Dataset, items: Sequence[Any]) -> int:
    """Insert ``items`` (decoded JSON, each naming its image) into ``dataset``, all or none;
    return how many.

    The checks run before the transaction, so that several requests check their batches in
    parallel and only the insert is serialised. On SQLite the insert then runs without the
    database's foreign-key checks; instead, inside the transaction (which holds the write lock,
    so nothing can be deleted until it commits), one query per kind confirms that what the
    rows name still exists. Either way, an image, label set or category deleted between the
    checks and the insert gives ``invalid_annotations`` and nothing is written.
    """
    rows, ctx = _validate(dataset, items, None)
    return _save(dataset, rows, ctx, lambda: validate(dataset, items))


def create_annotations_json(dataset: Dataset, body: bytes) -> int:
    """``create_annotations`` for a JSON body ``{"annotations": [...]}``, through the typed
    path while it can; a body it refuses or doubts is decoded again as plain JSON and checked
    by the careful path, whose answer names every violation. ``invalid_json`` or
    ``invalid_body`` if it is not such a body."""
    try:
        items = _BODY.decode(body).annotations
    except msgspec.DecodeError:
        items = None
    checked = _typed_rows(dataset, items) if items is not None else None
    if checked is None:
        return create_annotations(dataset, decode_body(body))
    rows, ctx = checked
    return _save(dataset, rows, ctx, lambda: validate(dataset, decode_body(body)))


def _save(
    dataset: Dataset,
    rows: list[tuple[Any, ...]],
    ctx: _Context,
    check_again: Callable[[], object],
) -> int:
    """Insert checked ``rows``; ``check_again`` raises ``invalid_annotations`` naming what
    went if the dataset changed since the checks."""
    images = sorted(ctx.sizes)
    try:
        with _references_checked_here() as unchecked, transaction.atomic():
            if unchecked and not _references_exist(dataset, rows, images):
                check_again()
                raise Conflict("dataset_changed", "the dataset changed; send the batch again")
            _insert(rows)
            _record(dataset, rows, images)
    except IntegrityError:
        # PostgreSQL checks the references at commit: if something went since the checks,
        # answer which annotations name it, as the checks would have.
        check_again()
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
