"""Client methods for datasets."""

from __future__ import annotations

from visionhub.client.base import BaseClient


class DatasetsClient(BaseClient):
    pass
