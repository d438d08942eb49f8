"""Client methods for registry."""

from __future__ import annotations

from visionhub.client.base import BaseClient


class RegistryClient(BaseClient):
    pass
