"""Who sees which benchmark resource. Missing and forbidden raise the same ``NotFound``.

* Benchmarks, sites and flavors: approved ones are public to every signed-in user; one on
  review (or rejected) is seen only by its uploader and staff. A flavor is seen only where its
  site is seen too.
* Results: public, except deleted ones (staff only, with ``include_deleted``) and claimed ones
  (their uploader and staff).
* Claims: their uploader and staff. Submits: the uploader of the submitted resource and staff.
* Tags: public.
* A result's uploader is shown to that uploader and staff only; only staff filter results by
  another user's uploads (403 ``admin_only``). A result's claims: its uploader and staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Q, QuerySet

from visionhub.accounts.models import Identity, User
from visionhub.benchmarks.filters import ResultQuery
from visionhub.benchmarks.models import (
    Benchmark,
    BenchmarkResult,
    Claim,
    Flavor,
    ResourceType,
    Site,
    Status,
    Submit,
    Tag,
)
from visionhub.core.errors import Forbidden, Invalid, NotFound


def _reviewed(user: User, prefix: str = "") -> Q:
    if user.is_staff:
        return Q()
    return Q(**{f"{prefix}status": Status.APPROVED}) | Q(**{f"{prefix}uploader": user})


def visible_benchmarks(user: User) -> QuerySet[Benchmark]:
    return Benchmark.objects.select_related("uploader").filter(_reviewed(user))


def visible_sites(user: User) -> QuerySet[Site]:
    return Site.objects.select_related("uploader").filter(_reviewed(user))


def visible_flavors(user: User) -> QuerySet[Flavor]:
    return Flavor.objects.select_related("uploader", "site").filter(
        _reviewed(user), _reviewed(user, "site__")
    )


def get_benchmark_for(user: User, benchmark_id: UUID, *, write: bool = False) -> Benchmark:
    """A benchmark ``user`` may see (or, with ``write``, change: its uploader and staff)."""
    found = visible_benchmarks(user).filter(pk=benchmark_id).first()
    if found is None or (write and not _may_write(user, found.uploader_id)):
        raise NotFound("benchmark_not_found", "no such benchmark")
    return found


def get_site_for(user: User, site_id: UUID, *, write: bool = False) -> Site:
    found = visible_sites(user).filter(pk=site_id).first()
    if found is None or (write and not _may_write(user, found.uploader_id)):
        raise NotFound("site_not_found", "no such site")
    return found


def get_flavor_for(user: User, flavor_id: UUID, *, write: bool = False) -> Flavor:
    found = visible_flavors(user).filter(pk=flavor_id).first()
    if found is None or (write and not _may_write(user, found.uploader_id)):
        raise NotFound("flavor_not_found", "no such flavor")
    return found


def _may_write(user: User, uploader_id: int | None) -> bool:
    return user.is_staff or (uploader_id is not None and uploader_id == user.pk)


def get_tag(tag_id: UUID) -> Tag:
    found = Tag.objects.filter(pk=tag_id).first()
    if found is None:
        raise NotFound("tag_not_found", "no such tag")
    return found


def get_tags(tag_ids: Sequence[UUID]) -> list[Tag]:
    """The tags named by ``tag_ids`` (duplicates collapse); 422 ``unknown_tag`` otherwise."""
    wanted = set(tag_ids)
    found = list(Tag.objects.filter(pk__in=wanted))
    missing = wanted - {tag.pk for tag in found}
    if missing:
        raise Invalid(
            "unknown_tag",
            "some tags do not exist",
            details={"tags_ids": sorted(str(tag_id) for tag_id in missing)},
        )
    return found


def visible_results(
    user: User, *, include_deleted: bool = False, include_claimed: bool = False
) -> QuerySet[BenchmarkResult]:
    """Results in normal queries: neither deleted nor claimed. Staff may ask for either."""
    qs = BenchmarkResult.objects.all()
    if not (include_deleted and user.is_staff):
        qs = qs.filter(deleted=False)
    if not (include_claimed and user.is_staff):
        qs = qs.filter(claimed=False)
    return qs


def with_related(qs: QuerySet[BenchmarkResult]) -> QuerySet[BenchmarkResult]:
    """What a result's output needs, in two queries for any number of results.

    Only the shown columns of the related rows are read: a benchmark's schema can be as large
    as the result, and every timestamp costs a Python-level parse in Django's psycopg loader.
    """
    return (
        qs.select_related("uploader", "benchmark", "flavor", "site")
        .only(
            *("id", "json", "execution_datetime", "upload_datetime", "deleted", "claimed"),
            *("uploader_id", "benchmark_id", "flavor_id", "site_id", "uploader__username"),
            *("benchmark__docker_image", "benchmark__docker_tag", "benchmark__status"),
            *("flavor__name", "site__name", "site__address"),
        )
        .prefetch_related("tags")
    )


def get_result_for(user: User, result_id: UUID, *, write: bool = False) -> BenchmarkResult:
    """A result ``user`` may see: a visible one, their own claimed one, anything for staff.

    ``write`` (delete): its uploader and staff, never a deleted one.
    """
    qs = with_related(BenchmarkResult.objects.all())
    if not user.is_staff:
        qs = qs.filter(Q(claimed=False) | Q(uploader=user), deleted=False)
    found = qs.filter(pk=result_id).first()
    if found is None or (write and (found.deleted or not _may_write(user, found.uploader_id))):
        raise NotFound("result_not_found", "no such result")
    return found


def check_uploader_filter(user: User, query: ResultQuery) -> None:
    """Uploaders are private: a non-staff user may filter by their own uploads only."""
    if user.is_staff:
        return
    if query.uploader is not None and query.uploader != user.username:
        raise Forbidden("admin_only", "only administrators filter by another user's uploads")
    if query.uploader_iss is not None and query.uploader_sub is not None:
        mine = Identity.objects.filter(
            user=user, issuer=query.uploader_iss, subject=query.uploader_sub
        ).exists()
        if not mine:
            raise Forbidden("admin_only", "only administrators filter by another user's uploads")


def claims_of_result(user: User, result_id: UUID) -> QuerySet[Claim]:
    """The claims filed against a result, for its uploader and staff; anyone else (who may
    well see the result) gets 404 ``result_not_found``, as for a missing result."""
    result = get_result_for(user, result_id)
    if not _may_write(user, result.uploader_id):
        raise NotFound("result_not_found", "no such result")
    return Claim.objects.select_related("uploader").filter(result=result)


def visible_claims(user: User) -> QuerySet[Claim]:
    qs = Claim.objects.select_related("uploader", "benchmark", "site", "flavor", "result")
    return qs if user.is_staff else qs.filter(uploader=user)


def get_claim_for(user: User, claim_id: UUID) -> Claim:
    found = visible_claims(user).filter(pk=claim_id).first()
    if found is None:
        raise NotFound("claim_not_found", "no such claim")
    return found


def get_claim_target(
    user: User, resource_type: str, resource_id: UUID
) -> Benchmark | Site | Flavor | BenchmarkResult:
    """The resource a claim names, if ``user`` can see it."""
    if resource_type == ResourceType.BENCHMARK:
        return get_benchmark_for(user, resource_id)
    if resource_type == ResourceType.SITE:
        return get_site_for(user, resource_id)
    if resource_type == ResourceType.FLAVOR:
        return get_flavor_for(user, resource_id)
    if resource_type == ResourceType.RESULT:
        return get_result_for(user, resource_id)
    raise Invalid(
        "invalid_resource_type",
        "resource_type must be benchmark, site, flavor or result",
        details={"resource_type": resource_type[:50]},
    )


def visible_submits(user: User) -> QuerySet[Submit]:
    qs = Submit.objects.select_related("benchmark", "site", "flavor", "claim", "reviewer")
    if user.is_staff:
        return qs
    return qs.filter(
        Q(benchmark__uploader=user)
        | Q(site__uploader=user)
        | Q(flavor__uploader=user)
        | Q(claim__uploader=user)
    )


def get_submit_for(user: User, submit_id: UUID) -> Submit:
    found = visible_submits(user).filter(pk=submit_id).first()
    if found is None:
        raise NotFound("submit_not_found", "no such submit")
    return found
