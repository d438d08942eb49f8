"""Benchmark API schemas, with the seed's property names (``docker_image``, ``json_schema``,
``benchmark_id``, ``flavor_id``, ``tags_ids``, ``execution_datetime``, ``json``, …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

from visionhub.benchmarks.filters import ResultQuery
from visionhub.benchmarks.models import (
    Benchmark,
    BenchmarkResult,
    Claim,
    Flavor,
    Site,
    Submit,
)
from visionhub.core.text import LongText


def _username(obj: Benchmark | Site | Flavor | BenchmarkResult | Claim) -> str | None:
    return obj.uploader.username if obj.uploader is not None else None


def _viewer_sees_uploader(obj: BenchmarkResult, context: Any) -> bool:
    """A result's uploader is shown to that uploader and to staff only (as in the original,
    where it is admin-only): anyone else gets ``null``."""
    request = (context or {}).get("request")
    viewer = getattr(request, "auth", None)
    if viewer is None:
        return False
    return bool(viewer.is_staff) or (obj.uploader_id is not None and obj.uploader_id == viewer.pk)


# ``json_schema`` and ``json`` would shadow methods of ninja's Schema: the fields are
# ``json_schema_`` and ``json_`` with the seed's names as aliases (handlers answer by alias).


class BenchmarkIn(Schema):
    model_config = ConfigDict(populate_by_name=True)

    docker_image: str
    docker_tag: str
    json_schema_: Any = Field(alias="json_schema")
    url: str = ""
    description: LongText = ""


class BenchmarkPatch(Schema):
    url: str | None = None
    description: LongText | None = None


class BenchmarkOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    id: UUID
    name: str
    docker_image: str
    docker_tag: str
    url: str
    json_schema_: dict[str, Any] = Field(alias="json_schema")
    description: str
    status: str
    upload_datetime: datetime
    uploader: str | None

    @staticmethod
    def resolve_uploader(obj: Benchmark) -> str | None:
        return _username(obj)


class SiteIn(Schema):
    name: str
    address: str
    description: LongText = ""


class SitePatch(Schema):
    address: str | None = None
    description: LongText | None = None


class SiteOut(Schema):
    id: UUID
    name: str
    address: str
    description: str
    status: str
    upload_datetime: datetime
    uploader: str | None

    @staticmethod
    def resolve_uploader(obj: Site) -> str | None:
        return _username(obj)


class FlavorIn(Schema):
    name: str
    site_id: UUID
    description: LongText = ""


class FlavorPatch(Schema):
    description: LongText | None = None


class FlavorOut(Schema):
    id: UUID
    name: str
    description: str
    site_id: UUID
    site_name: str
    status: str
    upload_datetime: datetime
    uploader: str | None

    @staticmethod
    def resolve_site_name(obj: Flavor) -> str:
        return obj.site.name

    @staticmethod
    def resolve_uploader(obj: Flavor) -> str | None:
        return _username(obj)


class TagIn(Schema):
    name: str
    description: LongText = ""


class TagOut(Schema):
    id: UUID
    name: str
    description: str
    upload_datetime: datetime


class ResultIn(Schema):
    model_config = ConfigDict(populate_by_name=True)

    json_: Any = Field(alias="json")
    benchmark_id: UUID
    flavor_id: UUID
    tags_ids: list[UUID] = []
    execution_datetime: datetime


class ResultOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    id: UUID
    json_: dict[str, Any] = Field(alias="json")
    execution_datetime: datetime
    upload_datetime: datetime
    uploader: str | None
    benchmark_id: UUID
    benchmark_name: str
    flavor_id: UUID
    flavor_name: str
    site_id: UUID
    site_name: str
    site_address: str
    tags_ids: list[UUID]
    tags_names: list[str]
    deleted: bool
    claimed: bool

    @staticmethod
    def resolve_uploader(obj: BenchmarkResult, context: Any) -> str | None:
        return _username(obj) if _viewer_sees_uploader(obj, context) else None

    @staticmethod
    def resolve_benchmark_name(obj: BenchmarkResult) -> str:
        return obj.benchmark.name

    @staticmethod
    def resolve_flavor_name(obj: BenchmarkResult) -> str:
        return obj.flavor.name

    @staticmethod
    def resolve_site_name(obj: BenchmarkResult) -> str:
        return obj.site.name

    @staticmethod
    def resolve_site_address(obj: BenchmarkResult) -> str:
        return obj.site.address

    @staticmethod
    def resolve_tags_ids(obj: BenchmarkResult) -> list[UUID]:
        return [tag.pk for tag in obj.tags.all()]

    @staticmethod
    def resolve_tags_names(obj: BenchmarkResult) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())


class ResultQueryIn(Schema):
    """The query string of ``GET /benchmark-results`` (lists are repeated parameters)."""

    benchmark_id: UUID | None = None
    site_id: UUID | None = None
    flavor_id: UUID | None = None
    tags_all: list[str] = []
    tags_any: list[str] = []
    execution_after: datetime | None = None
    execution_before: datetime | None = None
    upload_after: datetime | None = None
    upload_before: datetime | None = None
    uploader: str | None = None
    uploader_iss: str | None = None
    uploader_sub: str | None = None
    filters: list[str] = []
    contains: str | None = None
    sort_by: str | None = None
    terms: list[str] = []
    include_deleted: bool = False
    include_claimed: bool = False

    def to_query(self) -> ResultQuery:
        """The conditions of this query string, as ``filters.filter_results`` takes them."""
        return ResultQuery(
            **{
                **self.model_dump(exclude={"include_deleted", "include_claimed"}),
                "tags_all": tuple(self.tags_all),
                "tags_any": tuple(self.tags_any),
                "filters": tuple(self.filters),
            }
        )


class ClaimIn(Schema):
    resource_type: str
    resource_id: UUID
    message: LongText


class ClaimOut(Schema):
    id: UUID
    message: str
    resource_type: str
    resource_id: UUID
    status: str
    upload_datetime: datetime
    uploader: str | None

    @staticmethod
    def resolve_uploader(obj: Claim) -> str | None:
        return _username(obj)


class TagPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    description: LongText


class ResultTagsIn(Schema):
    """``PUT /benchmark-results/{id}/tags``: the result's whole new set of tags."""

    model_config = ConfigDict(extra="forbid")

    tags_ids: list[UUID]


class ReviewIn(Schema):
    message: LongText = ""


class SubmitOut(Schema):
    id: UUID
    resource_type: str
    resource_id: UUID
    status: str
    upload_datetime: datetime
    reviewer: str | None
    reviewed_at: datetime | None
    review_message: str

    @staticmethod
    def resolve_reviewer(obj: Submit) -> str | None:
        return obj.reviewer.username if obj.reviewer is not None else None
