"""Copied names on results (for their sorts), the sort indexes, and tags' upload time."""

from __future__ import annotations


import django.utils.timezone
from typing import Any
import visionhub.benchmarks.jsonsql
from django.conf import settings
from django.db import migrations, models


def copy_names(apps: Any, schema_editor: Any) -> None:
    """Results made before the names were copied get them from their benchmark, site, flavor."""
    result = apps.get_model("benchmarks", "BenchmarkResult")
    for model, field in (("Site", "site"), ("Flavor", "flavor")):
        for pk, name in apps.get_model("benchmarks", model).objects.values_list("pk", "name"):
            result.objects.filter(**{f"{field}_id": pk}).update(**{f"{field}_name": name})
    benchmarks = apps.get_model("benchmarks", "Benchmark").objects
    for pk, image, tag in benchmarks.values_list("pk", "docker_image", "docker_tag"):
        result.objects.filter(benchmark_id=pk).update(benchmark_name=f"{image}:{tag}")


class Migration(migrations.Migration):

    dependencies = [
        ('benchmarks', '0002_result_json_gin'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The fields first (below), then their values, then the indexes over them.
        migrations.AddField(
            model_name='benchmarkresult',
            name='benchmark_name',
            field=models.CharField(default='', editable=False, max_length=384),
        ),
        migrations.AddField(
            model_name='benchmarkresult',
            name='flavor_name',
            field=models.CharField(default='', editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name='benchmarkresult',
            name='site_name',
            field=models.CharField(default='', editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name='tag',
            name='upload_datetime',
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.RunPython(copy_names, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='benchmarkresult',
            index=models.Index(condition=models.Q(('claimed', False), ('deleted', False)), fields=['execution_datetime', 'id'], name='result_visible_execution'),
        ),
        migrations.AddIndex(
            model_name='benchmarkresult',
            index=models.Index(visionhub.benchmarks.jsonsql.CodePoints('benchmark_name'), models.F('id'), condition=models.Q(('claimed', False), ('deleted', False)), name='result_visible_bench'),
        ),
        migrations.AddIndex(
            model_name='benchmarkresult',
            index=models.Index(visionhub.benchmarks.jsonsql.CodePoints('site_name'), models.F('id'), condition=models.Q(('claimed', False), ('deleted', False)), name='result_visible_site'),
        ),
        migrations.AddIndex(
            model_name='benchmarkresult',
            index=models.Index(visionhub.benchmarks.jsonsql.CodePoints('flavor_name'), models.F('id'), condition=models.Q(('claimed', False), ('deleted', False)), name='result_visible_flavor'),
        ),
        migrations.AddIndex(
            model_name='benchmarkresult',
            index=models.Index(visionhub.benchmarks.jsonsql.CodePoints('site_name'), visionhub.benchmarks.jsonsql.CodePoints('flavor_name'), models.F('id'), condition=models.Q(('claimed', False), ('deleted', False)), name='result_visible_site_flavor'),
        ),
    ]
