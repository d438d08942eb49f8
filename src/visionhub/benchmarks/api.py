"""The benchmark-results database over HTTP (PRODUCT.md section 5, seed 002's names)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Status

from visionhub.accounts.auth import current_user
from visionhub.benchmarks import access, browse, services
from visionhub.benchmarks.filters import filter_results, page_results
from visionhub.benchmarks.listing import (
    BENCHMARK_SORTS,
    CLAIM_SORTS,
    FLAVOR_SORTS,
    SITE_SORTS,
    SUBMIT_SORTS,
    TAG_SORTS,
    ListParams,
    SearchParams,
    listing,
    refuse_unknown_params,
)
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
    ResultTagsIn,
    ReviewIn,
    SiteIn,
    SiteOut,
    SitePatch,
    SubmitOut,
    TagIn,
    TagOut,
    TagPatch,
)
from visionhub.benchmarks.search import (
    BENCHMARK_FIELDS,
    FLAVOR_FIELDS,
    SITE_FIELDS,
    TAG_FIELDS,
    terms_condition,
)
from visionhub.core.errors import Invalid
from visionhub.core.pagination import Page, PageResult, paginate

router = Router(tags=["benchmarks"])


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


BENCHMARK_ORDER = ("docker_image", "docker_tag", "id")


@router.get("/benchmarks", response=Page[BenchmarkOut], by_alias=True)
def list_benchmarks(
    request: HttpRequest,
    q: Query[ListParams],
    docker_image: str | None = None,
    docker_tag: str | None = None,
    status: str | None = None,
) -> PageResult[Any]:
    qs = browse.benchmarks(
        current_user(request), docker_image=docker_image, docker_tag=docker_tag, status=status
    )
    return listing(qs, q, BENCHMARK_SORTS, BENCHMARK_ORDER)


@router.get("/benchmarks/search", response=Page[BenchmarkOut], by_alias=True)
def search_benchmarks(request: HttpRequest, q: Query[SearchParams]) -> PageResult[Any]:
    """Benchmarks whose image, tag or description hold every term."""
    refuse_unknown_params(request, SearchParams)
    qs = access.visible_benchmarks(current_user(request)).filter(
        terms_condition(q.terms, BENCHMARK_FIELDS)
    )
    return listing(qs, q, BENCHMARK_SORTS, BENCHMARK_ORDER)


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


@router.delete("/benchmarks/{benchmark_id}", response={204: None})
def delete_benchmark(request: HttpRequest, benchmark_id: UUID) -> Status[None]:
    user = current_user(request)
    benchmark = access.get_benchmark_for(user, benchmark_id, write=True)
    services.delete_catalog_entry(benchmark, user)
    return Status(204, None)


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
    q: Query[ListParams],
    name: str | None = None,
    address: str | None = None,
    status: str | None = None,
) -> PageResult[Any]:
    qs = browse.sites(current_user(request), name=name, address=address, status=status)
    return listing(qs, q, SITE_SORTS, ("name", "id"))


@router.get("/sites/search", response=Page[SiteOut])
def search_sites(request: HttpRequest, q: Query[SearchParams]) -> PageResult[Any]:
    """Sites whose name, address or description hold every term."""
    refuse_unknown_params(request, SearchParams)
    qs = access.visible_sites(current_user(request)).filter(terms_condition(q.terms, SITE_FIELDS))
    return listing(qs, q, SITE_SORTS, ("name", "id"))


@router.get("/sites/{site_id}", response=SiteOut)
def get_site(request: HttpRequest, site_id: UUID) -> Site:
    return access.get_site_for(current_user(request), site_id)


@router.patch("/sites/{site_id}", response=SiteOut)
def update_site(request: HttpRequest, site_id: UUID, body: SitePatch) -> Site:
    site = access.get_site_for(current_user(request), site_id, write=True)
    return services.update_site(site, address=body.address, description=body.description)


@router.delete("/sites/{site_id}", response={204: None})
def delete_site(request: HttpRequest, site_id: UUID) -> Status[None]:
    user = current_user(request)
    services.delete_catalog_entry(access.get_site_for(user, site_id, write=True), user)
    return Status(204, None)


@router.get("/sites/{site_id}/flavors", response=Page[FlavorOut])
def list_site_flavors(
    request: HttpRequest, site_id: UUID, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
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
    q: Query[ListParams],
    site_id: UUID | None = None,
    name: str | None = None,
    status: str | None = None,
) -> PageResult[Any]:
    qs = browse.flavors(current_user(request), site_id=site_id, name=name, status=status)
    return listing(qs, q, FLAVOR_SORTS, ("name", "id"))


@router.get("/flavors/search", response=Page[FlavorOut])
def search_flavors(request: HttpRequest, q: Query[SearchParams]) -> PageResult[Any]:
    """Flavors whose name, description or site's name hold every term."""
    refuse_unknown_params(request, SearchParams)
    qs = access.visible_flavors(current_user(request)).filter(
        terms_condition(q.terms, FLAVOR_FIELDS)
    )
    return listing(qs, q, FLAVOR_SORTS, ("name", "id"))


@router.get("/flavors/{flavor_id}", response=FlavorOut)
def get_flavor(request: HttpRequest, flavor_id: UUID) -> Flavor:
    return access.get_flavor_for(current_user(request), flavor_id)


@router.patch("/flavors/{flavor_id}", response=FlavorOut)
def update_flavor(request: HttpRequest, flavor_id: UUID, body: FlavorPatch) -> Flavor:
    flavor = access.get_flavor_for(current_user(request), flavor_id, write=True)
    return services.update_flavor(flavor, description=body.description)


@router.delete("/flavors/{flavor_id}", response={204: None})
def delete_flavor(request: HttpRequest, flavor_id: UUID) -> Status[None]:
    user = current_user(request)
    services.delete_catalog_entry(access.get_flavor_for(user, flavor_id, write=True), user)
    return Status(204, None)


# --- tags ---------------------------------------------------------------------------------------


@router.post("/tags", response={201: TagOut})
def create_tag(request: HttpRequest, body: TagIn) -> Status[Tag]:
    tag = services.create_tag(current_user(request), name=body.name, description=body.description)
    return Status(201, tag)


@router.get("/tags", response=Page[TagOut])
def list_tags(
    request: HttpRequest, q: Query[ListParams], name: str | None = None
) -> PageResult[Any]:
    qs = browse.tags(name=name)
    return listing(qs, q, TAG_SORTS, ("name",))


@router.get("/tags/search", response=Page[TagOut])
def search_tags(request: HttpRequest, q: Query[SearchParams]) -> PageResult[Any]:
    """Tags whose name or description hold every term."""
    refuse_unknown_params(request, SearchParams)
    qs = Tag.objects.filter(terms_condition(q.terms, TAG_FIELDS))
    return listing(qs, q, TAG_SORTS, ("name",))


@router.get("/tags/{tag_id}", response=TagOut)
def get_tag(request: HttpRequest, tag_id: UUID) -> Tag:
    return access.get_tag(tag_id)


@router.patch("/tags/{tag_id}", response=TagOut)
def update_tag(request: HttpRequest, tag_id: UUID, body: TagPatch) -> Tag:
    return services.update_tag(
        access.get_tag(tag_id), current_user(request), description=body.description
    )


@router.delete("/tags/{tag_id}", response={204: None})
def delete_tag(request: HttpRequest, tag_id: UUID) -> Status[None]:
    services.delete_catalog_entry(access.get_tag(tag_id), current_user(request))
    return Status(204, None)


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
) -> PageResult[Any]:
    """Results matching every condition; ``filters`` is ``<path> <op> <value>`` on the json
    (``machine.cpu.count >= 4``), ``sort_by`` comma-separated keys (``+site_name,-result.score``)."""
    return _results_page(request, q, limit=limit, cursor=cursor)


@router.get("/benchmark-results/search", response=Page[ResultOut], by_alias=True)
def search_results(
    request: HttpRequest,
    q: Query[ResultQueryIn],
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    """Results whose benchmark, site, flavor or tag names hold every one of ``terms`` (and
    every other condition of the list)."""
    refuse_unknown_params(request, ResultQueryIn, "limit", "cursor")
    if not q.terms:
        raise Invalid("invalid_terms", "give at least one search term: ?terms=…")
    return _results_page(request, q, limit=limit, cursor=cursor)


def _results_page(
    request: HttpRequest, q: ResultQueryIn, *, limit: int, cursor: str | None
) -> PageResult[Any]:
    user = current_user(request)
    qs = access.visible_results(
        user, include_deleted=q.include_deleted, include_claimed=q.include_claimed
    )
    query = q.to_query()
    access.check_uploader_filter(user, query)
    qs = access.with_related(filter_results(qs, query))
    return page_results(qs, sort_by=q.sort_by, cursor=cursor, limit=limit)


@router.get("/benchmark-results/{result_id}", response=ResultOut, by_alias=True)
def get_result(request: HttpRequest, result_id: UUID) -> BenchmarkResult:
    return access.get_result_for(current_user(request), result_id)


@router.put("/benchmark-results/{result_id}/tags", response=ResultOut, by_alias=True)
def set_result_tags(request: HttpRequest, result_id: UUID, body: ResultTagsIn) -> BenchmarkResult:
    """Replace a result's tags (its uploader or staff)."""
    user = current_user(request)
    result = access.get_result_for(user, result_id, write=True)
    services.set_result_tags(result, access.get_tags(body.tags_ids))
    return access.get_result_for(user, result_id)


@router.get("/benchmark-results/{result_id}/claims", response=Page[ClaimOut])
def result_claims(
    request: HttpRequest, result_id: UUID, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    """The claims against one result, newest first (its uploader and staff)."""
    refuse_unknown_params(request, None, "limit", "cursor")
    qs = access.claims_of_result(current_user(request), result_id)
    return paginate(qs, order_by=("-upload_datetime", "-id"), cursor=cursor, limit=limit)


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


NEWEST = ("-upload_datetime", "-id")


@router.get("/claims", response=Page[ClaimOut])
def list_claims(
    request: HttpRequest, q: Query[ListParams], status: str | None = None
) -> PageResult[Any]:
    qs = browse.claims(current_user(request), status=status)
    return listing(qs, q, CLAIM_SORTS, NEWEST)


@router.get("/claims/{claim_id}", response=ClaimOut)
def get_claim(request: HttpRequest, claim_id: UUID) -> Claim:
    return access.get_claim_for(current_user(request), claim_id)


@router.get("/submits", response=Page[SubmitOut])
def list_submits(
    request: HttpRequest,
    q: Query[ListParams],
    status: str | None = None,
    resource_type: str | None = None,
) -> PageResult[Any]:
    qs = browse.submits(current_user(request), status=status, resource_type=resource_type)
    return listing(qs, q, SUBMIT_SORTS, NEWEST)


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
