"""Model pages: definitions, a definition's versions, a version's files, details and lineage.

Every object is fetched through ``registry.access`` (a stranger's model is the same 404 as a
missing one); downloads reuse the API's streamed ``blob_response``.
"""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from visionhub.core.errors import NotFound
from visionhub.registry import access, lineage
from visionhub.registry.models import ModelDefinition, ModelVersion
from visionhub.storage.http import blob_response
from visionhub.web.lineage_graph import layout
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user
from visionhub.web.views.common import pretty_json


def qualified(definition: ModelDefinition) -> str:
    """The name of a model in page URLs: ``owner~name`` names it whoever looks."""
    return f"{definition.owner.username}~{definition.name}"


def _definitions(qs: QuerySet[ModelDefinition]) -> QuerySet[ModelDefinition]:
    return qs.select_related("owner").annotate(
        latest_version=Max("versions__version"), version_count=Count("versions")
    )


@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    page = keyset_page(
        request, _definitions(access.visible_definitions(user)), order_by=("name", "id")
    )
    return render(
        request,
        "web/registry/models.html",
        {"page": page},
    )


@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    user = signed_in_user(request)
    definition = access.get_definition_for(user, name)
    versions = (
        ModelVersion.objects.filter(definition=definition)
        .select_related("uploaded_by", "dataset", "training")
        .annotate(file_count=Count("files"))
    )
    page = keyset_page(request, versions, order_by=("-version",))
    context = {
        "definition": definition,
        "model_ref": qualified(definition),
        "page": page,
        "may_write": access.can_write_definition(user, definition),
    }
    return render(request, "web/registry/model.html", context)


@require_GET
def version_detail(request: HttpRequest, name: str, version: str) -> HttpResponse:
    user = signed_in_user(request)
    found = access.get_model_version_for(user, name, version)
    chain = lineage.lineage(found, viewer=user)
    context = {
        "definition": found.definition,
        "model_ref": qualified(found.definition),
        "version": found,
        "files": sorted(found.files.all(), key=lambda f: f.name),
        "chain": chain,
        "graph": layout(chain),
        "details_json": pretty_json(found.details),
        "training_json": pretty_json(found.training_snapshot) if found.training_snapshot else "",
        "dataset_json": pretty_json(found.dataset_snapshot) if found.dataset_snapshot else "",
        "deployments": list(found.deployments.order_by("name").values_list("name", flat=True)),
    }
    return render(request, "web/registry/version.html", context)


@require_GET
def version_file(request: HttpRequest, name: str, version: str, filename: str) -> HttpResponseBase:
    """One file of a version, streamed (ranges and ETag as in the API)."""
    found = access.get_model_version_for(signed_in_user(request), name, version)
    file = found.files.filter(name=filename).first()
    if file is None:
        raise NotFound("file_not_found", f"version {found.version} has no file {filename!r}")
    return blob_response(request, file.sha256, filename=file.name)
