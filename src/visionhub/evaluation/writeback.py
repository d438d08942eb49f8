"""Writing an evaluation's per-annotation and per-image results back, in bulk.

One statement per few thousand rows, never one per annotation: PostgreSQL joins the table
with ``unnest`` of array parameters, SQLite with ``json_each`` of one JSON parameter
(``UPDATE … FROM``, SQLite 3.33+). Raw SQL kept in these named constants.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from visionhub.core import db

ROWS_PER_STATEMENT = 5_000

# Annotation results: (id, compare_result JSON text or NULL, matched_gt_id or NULL).
ANNOTATIONS_PG = """
UPDATE datasets_annotation AS a
SET compare_result = v.result::jsonb, matched_gt_id = v.matched
FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) AS v(id, result, matched)
WHERE a.id = v.id
"""
ANNOTATIONS_SQLITE = """
UPDATE datasets_annotation
SET compare_result = v.result, matched_gt_id = v.matched
FROM (
    SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS result, json_extract(value, '$[2]') AS matched
    FROM json_each(%s)
) AS v
WHERE datasets_annotation.id = v.id
"""

# Seed 004's counters under one key of Image.compare_counts, the other keys kept.
COUNTS_PG = """
UPDATE datasets_image AS i
SET compare_counts = COALESCE(i.compare_counts, '{}'::jsonb) || jsonb_build_object(%s::text, v.counts::jsonb)
FROM unnest(%s::bigint[], %s::text[]) AS v(id, counts)
WHERE i.id = v.id
"""
COUNTS_SQLITE = """
UPDATE datasets_image
SET compare_counts = json_set(COALESCE(compare_counts, '{}'), %s, json(v.counts))
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS counts FROM json_each(%s)) AS v
WHERE datasets_image.id = v.id
"""
CLEAR_COUNTS_PG = """
UPDATE datasets_image SET compare_counts = compare_counts - %s::text
WHERE dataset_id = %s AND compare_counts ? %s::text
"""
CLEAR_COUNTS_SQLITE = """
UPDATE datasets_image SET compare_counts = json_remove(compare_counts, %s)
WHERE dataset_id = %s AND json_type(compare_counts, %s) IS NOT NULL
"""


def _sqlite_path(key: str) -> str:
    return f'$."{key}"'


def write_annotation_results(rows: Sequence[tuple[int, str | None, int | None]]) -> None:
    """Set ``compare_result`` (JSON text) and ``matched_gt`` of each annotation id."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        part = rows[start : start + ROWS_PER_STATEMENT]
        with transaction.atomic(), connection.cursor() as cursor:
            if db.is_postgres():
                ids, results, matched = zip(*part, strict=True)
                cursor.execute(ANNOTATIONS_PG, [list(ids), list(results), list(matched)])
            else:
                payload = (
                    "["
                    + ",".join(
                        f"[{i},{json.dumps(r) if r is not None else 'null'},"
                        f"{m if m is not None else 'null'}]"
                        for i, r, m in part
                    )
                    + "]"
                )
                cursor.execute(ANNOTATIONS_SQLITE, [payload])


def clear_compare_counts(dataset_id: int, key: str) -> None:
    """Remove ``key`` from every image's ``compare_counts`` (one statement)."""
    with connection.cursor() as cursor:
        if db.is_postgres():
            cursor.execute(CLEAR_COUNTS_PG, [key, dataset_id, key])
        else:
            cursor.execute(CLEAR_COUNTS_SQLITE, [_sqlite_path(key), dataset_id, _sqlite_path(key)])


def write_compare_counts(key: str, rows: Sequence[tuple[int, str]]) -> None:
    """Set ``compare_counts[key]`` (JSON text) of each image id, keeping its other keys."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        part = rows[start : start + ROWS_PER_STATEMENT]
        with transaction.atomic(), connection.cursor() as cursor:
            if db.is_postgres():
                ids, counts = zip(*part, strict=True)
                cursor.execute(COUNTS_PG, [key, list(ids), list(counts)])
            else:
                payload = "[" + ",".join(f"[{i},{json.dumps(c)}]" for i, c in part) + "]"
                cursor.execute(COUNTS_SQLITE, [_sqlite_path(key), payload])


def insert_rows(
    model: type[Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert plain tuples into ``model``'s table (``executemany``: no model objects)."""
    if not rows:
        return
    table = model._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - model metadata only
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT * 4):
            cursor.executemany(sql, rows[start : start + ROWS_PER_STATEMENT * 4])
