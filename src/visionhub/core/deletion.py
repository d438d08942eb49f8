"""Deleting many rows with one statement, without skipping what points at them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.deletion import get_candidate_relations_to_delete


def bulk_delete(queryset: models.QuerySet[Any]) -> None:
    """Delete the rows of ``queryset`` with one ``DELETE … WHERE``, never loading them.

    Django's ``_raw_delete`` alone skips the ``on_delete`` of the relations that point at the
    rows, so a row referenced elsewhere made the statement fail on its foreign key. Here each
    such relation is applied first, one statement per relation whatever the number of rows:
    ``SET_NULL`` clears the references (the referring history stays), ``CASCADE`` deletes the
    referring rows (through Django, so their own relations are honoured), ``PROTECT`` and
    ``RESTRICT`` raise as ``Model.delete()`` would. Any other rule gets Django's own delete.
    Call it inside a transaction.
    """
    model = queryset.model
    for candidate in get_candidate_relations_to_delete(model._meta):
        relation: Any = candidate  # a ForeignObjectRel, typed as a plain Field by the stubs
        rule = relation.on_delete
        if rule is models.DO_NOTHING:
            continue
        name = relation.field.name
        referring = relation.related_model._base_manager.filter(
            **{f"{name}__in": queryset.values("pk")}
        )
        if rule is models.SET_NULL:
            referring.update(**{name: None})
        elif rule is models.CASCADE:
            referring.delete()
        elif rule in (models.PROTECT, models.RESTRICT):
            if referring.exists():
                raise models.ProtectedError(
                    f"{model.__name__} rows are referenced by {relation.related_model.__name__}",
                    set(referring[:10]),
                )
        else:
            queryset.delete()
            return
    queryset._raw_delete(queryset.db)
