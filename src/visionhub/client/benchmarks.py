"""Client methods for benchmarks."""

from __future__ import annotations

from visionhub.client.base import BaseClient


class BenchmarksClient(BaseClient):
    pass
