"""Client methods for inference."""

from __future__ import annotations

from visionhub.client.base import BaseClient


class InferenceClient(BaseClient):
    pass
