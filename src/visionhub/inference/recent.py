"""Short-lived, per-process memory of what the hot path asks again and again but rarely changes.

A claim of 64 jobs and the results that follow would otherwise re-read the same model
definition, deployment names and worker row on every call. Entries live ``TTL_SECONDS``: an
edit (new classes, a renamed worker) is seen by every process within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from visionhub.registry.models import Deployment, ModelVersion

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A dictionary whose entries expire; ``get_many`` loads the missing ones in one call."""

    def __init__(self, load: Callable[[list[K]], dict[K, V]], ttl: float = TTL_SECONDS) -> None:
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[float, V]] = {}

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        now = time.monotonic()
        found: dict[K, V] = {}
        missing: list[K] = []
        with self._lock:
            for key in set(keys):
                entry = self._entries.get(key)
                if entry is not None and entry[0] > now:
                    found[key] = entry[1]
                else:
                    missing.append(key)
        if missing:
            loaded = self._load(missing)
            with self._lock:
                if len(self._entries) > MAX_ENTRIES:
                    self._entries.clear()
                for key, value in loaded.items():
                    self._entries[key] = (now + self._ttl, value)
            found.update(loaded)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _load_models(version_ids: list[int]) -> dict[int, dict[str, Any]]:
    versions = (
        ModelVersion.objects.select_related("definition")
        .prefetch_related("files")
        .in_bulk(version_ids)
    )
    return {
        pk: {
            "version_id": pk,
            "input": version.definition.input_spec,
            "task": version.definition.task,
            "output": version.definition.output_spec or None,
            "classes": [str(c) for c in version.definition.classes or []],
            "files": sorted((f.name, f.sha256) for f in version.files.all()),
        }
        for pk, version in versions.items()
    }


def _load_deployments(names: list[str]) -> dict[str, int]:
    return dict(Deployment.objects.filter(name__in=names).values_list("name", "pk"))


# What a worker needs to know of a model version: input spec, task and output contract,
# classes, files (name, sha256).
models: Recent[int, dict[str, Any]] = Recent(_load_models)
# Deployment names (unique server-wide) to ids, for the claims of workers that name some.
deployments: Recent[str, int] = Recent(_load_deployments)


# Other per-process memories that ``clear_all`` empties too (the queue's workers seen), so that
# this module needs to import none of them.
_also_cleared: list[Callable[[], None]] = []


def also_clear(forget: Callable[[], None]) -> None:
    """Have ``clear_all`` call ``forget`` too."""
    _also_cleared.append(forget)


def clear_all() -> None:
    """Forget everything (tests roll back rows whose ids the next test reuses)."""
    models.clear()
    deployments.clear()
    for forget in _also_cleared:
        forget()
