"""What a dataset links to in an app above it (seed 003: the ``model`` a dataset trains).

Datasets sit below the registry and import nothing from it; the registry registers here, when
it is ready, the function that finds a model definition for a caller (``registry.access``), so
the rule of who may see which model is written once, in the registry.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model

from visionhub.accounts.models import User
from visionhub.core.errors import Invalid

ModelResolver = Callable[[User, str], Model]
_resolvers: list[ModelResolver] = []


def register_model_resolver(resolver: ModelResolver) -> None:
    """Called by the registry app: ``resolver(user, "name" or "owner/name")`` returns the model
    definition ``user`` may read, or raises its 404."""
    _resolvers[:] = [resolver]


def resolve_model(user: User, ref: str) -> Model:
    """The model definition ``ref`` as ``user`` may see it (404 ``model_not_found`` if not)."""
    if not _resolvers:
        raise Invalid("models_unavailable", "the model registry is not installed")
    return _resolvers[0](user, ref)
