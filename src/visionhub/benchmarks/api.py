"""The benchmark-results database over HTTP (PRODUCT.md section 5, seed 002's names)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from visionhub.accounts.auth import current_user
from visionhub.benchmarks import access, services
from visionhub.benchmarks.filters import filter_results, page_results
from visionhub.benchmarks.models import (
    Benchmark,
    BenchmarkResult,
    Claim,
    Flavor,
    Site,
    Submit,
    Tag,
)
from visionhub.benchmarks.schemas import (
    BenchmarkIn,
    BenchmarkOut,
    BenchmarkPatch,
    ClaimIn,
    ClaimOut,
    FlavorIn,
    FlavorOut,
    FlavorPatch,
    ResultIn,
    ResultOut,
    ResultQueryIn,
    ReviewIn,
    SiteIn,
    SiteOut,
    SitePatch,
    SubmitOut,
    TagIn,
    TagOut,
)
from visionhub.core.pagination import Page, PageResult, paginate

router = Router(tags=["benchmarks"])


def _status(qs: QuerySet[Any], status: str | None) -> QuerySet[Any]:
    return qs if status is None else qs.filter(status=status)


# --- benchmarks ---------------------------------------------------------------------------------


@router.post("/benchmarks", response={201: BenchmarkOut}, by_alias=True)
def create_benchmark(request: HttpRequest, body: BenchmarkIn) -> Status[Benchmark]:
    return Status(
        201,
        services.create_benchmark(
            current_user(request),
            docker_image=body.docker_image,
            docker_tag=body.docker_tag,
            json_schema=body.json_schema_,
            url=body.url,
            description=body.description,
        ),
    )


@router.get("/benchmarks", response=Page[BenchmarkOut], by_alias=True)
def list_benchmarks(
    request: HttpRequest,
    docker_image: str | None = None,
    docker_tag: str | None = None,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    qs = _status(access.visible_benchmarks(current_user(request)), status)
    if docker_image is not None:
        qs = qs.filter(docker_image=docker_image)
    if docker_tag is not None:
        qs = qs.filter(docker_tag=docker_tag)
    order = ("docker_image", "docker_tag", "id")
    return paginate(qs, order_by=order, cursor=cursor, limit=limit)


@router.get("/benchmarks/inference", response=BenchmarkOut, by_alias=True)
def inference_benchmark(request: HttpRequest) -> Benchmark:
    """VisionHub's built-in inference benchmark for this server version (made on first use)."""
    return services.ensure_inference_benchmark()


@router.get("/benchmarks/{benchmark_id}", response=BenchmarkOut, by_alias=True)
def get_benchmark(request: HttpRequest, benchmark_id: UUID) -> Benchmark:
    return access.get_benchmark_for(current_user(request), benchmark_id)


@router.patch("/benchmarks/{benchmark_id}", response=BenchmarkOut, by_alias=True)
def update_benchmark(request: HttpRequest, benchmark_id: UUID, body: BenchmarkPatch) -> Benchmark:
    benchmark = access.get_benchmark_for(current_user(request), benchmark_id, write=True)
    return services.update_benchmark(benchmark, url=body.url, description=body.description)


# --- sites and flavors --------------------------------------------------------------------------


@router.post("/sites", response={201: SiteOut})
def create_site(request: HttpRequest, body: SiteIn) -> Status[Site]:
    user = current_user(request)
    return Status(
        201,
        services.create_site(
            user, name=body.name, address=body.address, description=body.description
        ),
    )


@router.get("/sites", response=Page[SiteOut])
def list_sites(
    request: HttpRequest,
    name: str | None = None,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    qs = _status(access.visible_sites(current_user(request)), status)
    if name is not None:
        qs = qs.filter(name=name)
    return paginate(qs, order_by=("name", "id"), cursor=cursor, limit=limit)


@router.get("/sites/{site_id}", response=SiteOut)
def get_site(request: HttpRequest, site_id: UUID) -> Site:
    return access.get_site_for(current_user(request), site_id)


@router.patch("/sites/{site_id}", response=SiteOut)
def update_site(request: HttpRequest, site_id: UUID, body: SitePatch) -> Site:
    site = access.get_site_for(current_user(request), site_id, write=True)
    return services.update_site(site, address=body.address, description=body.description)


@router.get("/sites/{site_id}/flavors", response=Page[FlavorOut])
def list_site_flavors(
    request: HttpRequest, site_id: UUID, limit: int = 100, cursor: str | None = None
) -> PageResult[Flavor]:
    user = current_user(request)
    site = access.get_site_for(user, site_id)
    qs = access.visible_flavors(user).filter(site=site)
    return paginate(qs, order_by=("name", "id"), cursor=cursor, limit=limit)


@router.post("/flavors", response={201: FlavorOut})
def create_flavor(request: HttpRequest, body: FlavorIn) -> Status[Flavor]:
    user = current_user(request)
    site = access.get_site_for(user, body.site_id)
    return Status(
        201, services.create_flavor(user, site, name=body.name, description=body.description)
    )


@router.get("/flavors", response=Page[FlavorOut])
def list_flavors(
    request: HttpRequest,
    site_id: UUID | None = None,
    name: str | None = None,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    qs = _status(access.visible_flavors(current_user(request)), status)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if name is not None:
        qs = qs.filter(name=name)
    return paginate(qs, order_by=("name", "id"), cursor=cursor, limit=limit)


@router.get("/flavors/{flavor_id}", response=FlavorOut)
def get_flavor(request: HttpRequest, flavor_id: UUID) -> Flavor:
    return access.get_flavor_for(current_user(request), flavor_id)


@router.patch("/flavors/{flavor_id}", response=FlavorOut)
def update_flavor(request: HttpRequest, flavor_id: UUID, body: FlavorPatch) -> Flavor:
    flavor = access.get_flavor_for(current_user(request), flavor_id, write=True)
    return services.update_flavor(flavor, description=body.description)


# --- tags ---------------------------------------------------------------------------------------


@router.post("/tags", response={201: TagOut})
def create_tag(request: HttpRequest, body: TagIn) -> Status[Tag]:
    tag = services.create_tag(current_user(request), name=body.name, description=body.description)
    return Status(201, tag)


@router.get("/tags", response=Page[TagOut])
def list_tags(
    request: HttpRequest, name: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[Tag]:
    qs = Tag.objects.all() if name is None else Tag.objects.filter(name=name)
    return paginate(qs, order_by=("name",), cursor=cursor, limit=limit)


@router.get("/tags/{tag_id}", response=TagOut)
def get_tag(request: HttpRequest, tag_id: UUID) -> Tag:
    return access.get_tag(tag_id)


# --- results ------------------------------------------------------------------------------------


@router.post("/benchmark-results", response={201: ResultOut}, by_alias=True)
def create_result(request: HttpRequest, body: ResultIn) -> Status[BenchmarkResult]:
    user = current_user(request)
    result = services.create_result(
        user,
        benchmark=access.get_benchmark_for(user, body.benchmark_id),
        flavor=access.get_flavor_for(user, body.flavor_id),
        json=body.json_,
        execution_datetime=body.execution_datetime,
        tags=access.get_tags(body.tags_ids),
    )
    return Status(201, access.get_result_for(user, result.pk))


@router.get("/benchmark-results", response=Page[ResultOut], by_alias=True)
def list_results(
    request: HttpRequest,
    q: Query[ResultQueryIn],
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[BenchmarkResult]:
    """Results matching every condition; ``filters`` is ``<path> <op> <value>`` on the json
    (``machine.cpu.count >= 4``), ``sort_by`` a json path (``-path`` for descending)."""
    user = current_user(request)
    qs = access.visible_results(
        user, include_deleted=q.include_deleted, include_claimed=q.include_claimed
    )
    qs = access.with_related(filter_results(qs, q.to_query()))
    return page_results(qs, sort_by=q.sort_by, cursor=cursor, limit=limit)


@router.get("/benchmark-results/{result_id}", response=ResultOut, by_alias=True)
def get_result(request: HttpRequest, result_id: UUID) -> BenchmarkResult:
    return access.get_result_for(current_user(request), result_id)


@router.delete("/benchmark-results/{result_id}", response={204: None})
def delete_result(request: HttpRequest, result_id: UUID) -> Status[None]:
    services.delete_result(access.get_result_for(current_user(request), result_id, write=True))
    return Status(204, None)


# --- claims and submits -------------------------------------------------------------------------


@router.post("/claims", response={201: ClaimOut})
def file_claim(request: HttpRequest, body: ClaimIn) -> Status[Claim]:
    user = current_user(request)
    target = access.get_claim_target(user, body.resource_type, body.resource_id)
    return Status(201, services.file_claim(user, target, message=body.message))


@router.get("/claims", response=Page[ClaimOut])
def list_claims(
    request: HttpRequest, status: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    qs = _status(access.visible_claims(current_user(request)), status)
    order = ("-upload_datetime", "-id")
    return paginate(qs, order_by=order, cursor=cursor, limit=limit)


@router.get("/claims/{claim_id}", response=ClaimOut)
def get_claim(request: HttpRequest, claim_id: UUID) -> Claim:
    return access.get_claim_for(current_user(request), claim_id)


@router.get("/submits", response=Page[SubmitOut])
def list_submits(
    request: HttpRequest, status: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    qs = _status(access.visible_submits(current_user(request)), status)
    order = ("-upload_datetime", "-id")
    return paginate(qs, order_by=order, cursor=cursor, limit=limit)


@router.get("/submits/{submit_id}", response=SubmitOut)
def get_submit(request: HttpRequest, submit_id: UUID) -> Submit:
    return access.get_submit_for(current_user(request), submit_id)


@router.post("/submits/{submit_id}/approve", response=SubmitOut)
def approve_submit(request: HttpRequest, submit_id: UUID, body: ReviewIn | None = None) -> Submit:
    user = current_user(request)
    submit = access.get_submit_for(user, submit_id)
    message = body.message if body is not None else ""
    return services.review_submit(submit, user, approve=True, message=message)


@router.post("/submits/{submit_id}/reject", response=SubmitOut)
def reject_submit(request: HttpRequest, submit_id: UUID, body: ReviewIn | None = None) -> Submit:
    user = current_user(request)
    submit = access.get_submit_for(user, submit_id)
    message = body.message if body is not None else ""
    return services.review_submit(submit, user, approve=False, message=message)
