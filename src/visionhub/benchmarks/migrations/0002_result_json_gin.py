"""PostgreSQL only: a GIN index (jsonb_path_ops) on result json, which answers ``==`` filters
(``json @> '{"machine": {"cpu": {"count": 4}}}'``). SQLite has no such index; nothing to do."""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEX = "result_json_gin"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON benchmarks_benchmarkresult "
            "USING gin (json jsonb_path_ops)"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("benchmarks", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
