"""The hot-path SQL of the datasets app, named and described, each statement beside its
other-database twin where the two databases need different ones (``Twin``). Table and column
names are formatted in from the models' own constants, never from input (S608 does not apply).
"""

from __future__ import annotations

from visionhub.core.db import Twin

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

# Bulk annotation inserts: PostgreSQL streams the rows with COPY (no statement per row); SQLite
# takes them a thousand per multi-row INSERT (``VALUES`` followed by the row placeholders).
INSERT_ANNOTATIONS = Twin(
    postgres="COPY {table} ({columns}) FROM STDIN",
    sqlite="INSERT INTO {table} ({columns}) VALUES ",
)

# Some columns of the images of one dataset among a chunk of ids (``condition``: ``core.db.id_in``,
# itself a twin: a bigint array on PostgreSQL, a JSON list on SQLite).
DATASET_IMAGES = "SELECT {columns} FROM {table} WHERE dataset_id = %s AND {condition}"

# Flags images as annotated; only those not flagged yet are written (``condition`` as above).
MARK_ANNOTATED = "UPDATE {table} SET annotated = %s WHERE annotated = %s AND {condition}"

# Increment-or-insert, one statement per (label set, category); the same SQL runs on
# PostgreSQL and SQLite (3.24+). Concurrent writers to one label set serialise on the row.
UPSERT_COUNT = """
INSERT INTO {table} (label_set_id, category_key, num_annotations) VALUES (%s, %s, %s)
ON CONFLICT (label_set_id, category_key)
DO UPDATE SET num_annotations = {table}.num_annotations + excluded.num_annotations
"""

# Copies every annotation of one label set into another inside the database: no row travels
# through Python, so cloning ten million annotations is one statement.
CLONE_ANNOTATIONS = """
INSERT INTO {table} ({columns})
SELECT {source_columns} FROM {table} WHERE label_set_id = %s ORDER BY id
"""
CLONE_COUNTS = """
INSERT INTO {table} (label_set_id, category_key, num_annotations)
SELECT %s, category_key, num_annotations FROM {table} WHERE label_set_id = %s
"""
