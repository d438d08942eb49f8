"""Every state change of the registry. API, CLI and admin all call these.

``definitions``, ``versions``, ``trainings``, ``projects``, ``deployments``; ``blobs`` stores and
reclaims model files. ``referenced_blobs()`` is what ``visionhub gc`` asks this app for.
"""

from __future__ import annotations

from visionhub.registry.services.blobs import referenced_blobs

__all__ = ["referenced_blobs"]
