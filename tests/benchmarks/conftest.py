"""Benchmark test data: the 20 real c-ray results of EOSC-Performance and their machine flavors.

``data/eosc-perf-c-ray`` is a copy of ``/work/shared/data/eosc-perf-c-ray``: one result per
``<site>-<cpu count>.json``; ``machine-flavors.txt`` names the flavor of each site and count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tests.conftest import Person
from tests.helpers import unique

DATA = Path(__file__).parent / "data" / "eosc-perf-c-ray"
FIRST_RUN = datetime(2021, 3, 1, tzinfo=UTC)


@cache
def c_ray_results() -> dict[str, dict[str, Any]]:
    """``{"ifca-lcg2-4": {...}, ...}``: the 20 results by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DATA.glob("*.json"))}


@cache
def machine_flavors() -> dict[str, dict[int, str]]:
    """``{"ifca-lcg2": {1: "m1.small", ...}}`` from machine-flavors.txt (lines like
    ``site <tab> 1 m1.small <tab> 2 cm4.large ...``; ``<...>`` entries are not flavors)."""
    flavors: dict[str, dict[int, str]] = {}
    for line in (DATA / "machine-flavors.txt").read_text().splitlines():
        match = re.match(r"^([a-z0-9-]+)\s+(\d.*)$", line)
        if match is None:  # blank lines and notes ("bifi & ceta grid: ...", "cesga: was dead")
            continue
        entries = re.findall(r"(\d+) +([^\s<]\S*)", match[2])
        flavors[match[1]] = {int(count): name for count, name in entries}
    return flavors


def c_ray_schema() -> dict[str, Any]:
    text = resources.files("visionhub.benchmarks").joinpath("data/c-ray.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text())
    return schema


def site_and_count(stem: str) -> tuple[str, int]:
    site, _, count = stem.rpartition("-")
    return site, int(count)


def execution_of(stem: str) -> datetime:
    """A distinct execution time per result (its rank among the stems, in days)."""
    return FIRST_RUN + timedelta(days=sorted(c_ray_results()).index(stem))


@dataclass
class World:
    """What ``build_c_ray_world`` made: ids by name, and result ids by file stem."""

    benchmark: dict[str, Any]
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    flavors: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)
    site_names: dict[str, str] = field(default_factory=dict)

    def stems(self, ids: list[str]) -> set[str]:
        by_id = {result_id: stem for stem, result_id in self.results.items()}
        return {by_id[i] for i in ids}


def tags_for(document: dict[str, Any]) -> list[str]:
    cpu = document["machine"]["cpu"]
    tags = ["amd" if cpu["vendor_id_raw"] == "AuthenticAMD" else "intel"]
    if cpu["count"] >= 8:
        tags.append("many-cores")
    return tags


def build_c_ray_world(admin: Person, uploader: Person | None = None) -> World:
    """A c-ray benchmark, every site and flavor of machine-flavors.txt (made by ``admin``, so
    approved) and the 20 results uploaded by ``uploader`` with tags ``amd``/``intel`` and
    ``many-cores``, and execution times one day apart."""
    client = admin.client
    world = World(benchmark=client.create_benchmark(unique("eosc/c-ray"), "1.2.0", c_ray_schema()))
    for site, flavors in machine_flavors().items():
        name = unique(site)
        world.site_names[site] = name
        world.sites[site] = client.create_site(name, f"{site}, EGI Federated Cloud")
        for count, flavor in flavors.items():
            world.flavors[(site, count)] = client.create_flavor(world.sites[site]["id"], flavor)
    by = (uploader or admin).client
    tag_ids = dict(
        zip(
            ["amd", "intel", "many-cores"],
            by.ensure_tags(["amd", "intel", "many-cores"]),
            strict=True,
        )
    )
    for stem, document in c_ray_results().items():
        made = by.upload_result(
            document,
            benchmark_id=world.benchmark["id"],
            flavor_id=world.flavors[site_and_count(stem)]["id"],
            tags_ids=[tag_ids[t] for t in tags_for(document)],
            execution_datetime=execution_of(stem),
        )
        world.results[stem] = made["id"]
    return world
