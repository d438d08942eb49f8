"""Every state change of the benchmark-results database; the API, the CLI and the admin call these.

Rules (seed 002): resources made by non-staff wait ``on_review`` with a ``Submit``; staff
approve or reject submits; a result only references approved benchmarks, flavors (on approved
sites) and existing tags, and its json must match the benchmark's JSON Schema; anyone may claim
a resource, which hides a claimed result until staff uphold (stays hidden) or dismiss
(restored) the claim. Every decision writes its notifications in the same transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from visionhub import __version__
from visionhub.accounts.models import User
from visionhub.benchmarks.models import (
    Benchmark,
    BenchmarkResult,
    Claim,
    Flavor,
    Site,
    Status,
    Submit,
    Tag,
    resource_type_of,
)
from visionhub.benchmarks.notifications import notify, notify_admins
from visionhub.benchmarks.validation import (
    check_schema,
    schema_hash,
    validate_result,
)
from visionhub.core.errors import Conflict, Forbidden, Invalid
from visionhub.core.slugs import validate_slug
from visionhub.core.text import check_json_values

# A docker reference without the tag: optional registry host[:port]/, then path components.
IMAGE_RE = re.compile(r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+|/)[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
FLAVOR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
MAX_MESSAGE = 5000
FUTURE_TOLERANCE = timedelta(hours=1)

INFERENCE_IMAGE = "visionhub/inference"

R = TypeVar("R", Benchmark, Site, Flavor)


def _text(value: str, field: str, *, max_length: int, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise Invalid("invalid_field", f"{field} is required", details={"field": field})
    if len(value) > max_length:
        raise Invalid(
            "invalid_field",
            f"{field} is longer than {max_length} characters",
            details={"field": field},
        )
    return value


def _url(value: str) -> str:
    value = value.strip()
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            raise Invalid(
                "invalid_url", "url must be an http(s) URL", details={"url": value[:200]}
            ) from None
    return value


def _initial_status(by: User) -> Status:
    return Status.APPROVED if by.is_staff else Status.ON_REVIEW


# --- benchmarks, sites, flavors, tags ------------------------------------------------------


def create_benchmark(
    by: User,
    *,
    docker_image: str,
    docker_tag: str,
    json_schema: Any,
    url: str = "",
    description: str = "",
) -> Benchmark:
    """Register ``docker_image:docker_tag`` with the JSON Schema of its results.

    The schema must be a valid JSON Schema (422 ``invalid_json_schema`` lists every problem).
    Staff's benchmarks are approved at once; anyone else's waits on review with a Submit.
    """
    if not IMAGE_RE.match(docker_image) or len(docker_image) > 255:
        raise Invalid("invalid_docker_image", "docker_image is not a docker image name")
    if not TAG_RE.match(docker_tag):
        raise Invalid("invalid_docker_tag", "docker_tag is not a docker tag")
    check_schema(json_schema)
    benchmark = Benchmark(
        docker_image=docker_image,
        docker_tag=docker_tag,
        json_schema=json_schema,
        schema_hash=schema_hash(json_schema),
        url=_url(url),
        description=_text(description, "description", max_length=10_000),
        status=_initial_status(by),
        uploader=by,
    )
    return _create_reviewed(benchmark, "benchmark_exists", f"benchmark {benchmark.name} exists")


def _create_reviewed(obj: R, code: str, message: str) -> R:
    """Save a new benchmark, site or flavor, with its Submit when it needs review (and the
    administrators' notifications of it)."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
            if obj.status == Status.ON_REVIEW:
                submit = Submit.objects.create(**{resource_type_of(obj): obj})
                _tell_admins(submit, obj)
    except IntegrityError:
        raise Conflict(code, message) from None
    return obj


def _tell_admins(submit: Submit, resource: Benchmark | Site | Flavor | Claim) -> None:
    who = resource.uploader.username if resource.uploader is not None else "VisionHub"
    notify_admins(
        f"VisionHub: {_describe(resource)} waits for review",
        f"{who} submitted {_describe(resource)}. Approve or reject submit {submit.pk} "
        "(visionhub benchmark approve|reject, or the admin).",
    )


def update_benchmark(
    benchmark: Benchmark, *, url: str | None = None, description: str | None = None
) -> Benchmark:
    """Change a benchmark's url or description; image, tag and schema never change (results
    were validated against them)."""
    if url is not None:
        benchmark.url = _url(url)
    if description is not None:
        benchmark.description = _text(description, "description", max_length=10_000)
    benchmark.save(update_fields=["url", "description"])
    return benchmark


@cache
def inference_schema() -> dict[str, Any]:
    """The JSON Schema of VisionHub's built-in inference benchmark (``data/inference.schema.json``)."""
    text = resources.files("visionhub.benchmarks").joinpath("data/inference.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text())
    return schema


def ensure_inference_benchmark() -> Benchmark:
    """VisionHub's own benchmark ``visionhub/inference:<version>``, created approved (with no
    uploader) on first use. A new VisionHub version is a new benchmark, as the seed wants: its
    measurements may not compare with the previous version's."""
    found = (
        Benchmark.objects.filter(docker_image=INFERENCE_IMAGE, docker_tag=__version__)
        .exclude(status=Status.REJECTED)
        .first()
    )
    if found is not None:
        return found
    schema = inference_schema()
    try:
        with transaction.atomic():
            return Benchmark.objects.create(
                docker_image=INFERENCE_IMAGE,
                docker_tag=__version__,
                json_schema=schema,
                schema_hash=schema_hash(schema),
                url="https://github.com/visionhub/visionhub",
                description=(
                    "VisionHub's inference benchmark: `visionhub worker bench` measures a "
                    "worker's throughput and latency on a deployment's model."
                ),
                status=Status.APPROVED,
                uploader=None,
            )
    except IntegrityError:  # another request created it first
        return Benchmark.objects.get(
            docker_image=INFERENCE_IMAGE, docker_tag=__version__, status=Status.APPROVED
        )


def create_site(by: User, *, name: str, address: str, description: str = "") -> Site:
    """A new site (a slug name, unique among sites not rejected); on review unless by staff."""
    site = Site(
        name=validate_slug(name),
        address=_text(address, "address", max_length=500, required=True),
        description=_text(description, "description", max_length=10_000),
        status=_initial_status(by),
        uploader=by,
    )
    return _create_reviewed(site, "site_exists", f"site {name} exists")


def update_site(site: Site, *, address: str | None = None, description: str | None = None) -> Site:
    if address is not None:
        site.address = _text(address, "address", max_length=500, required=True)
    if description is not None:
        site.description = _text(description, "description", max_length=10_000)
    site.save(update_fields=["address", "description"])
    return site


def create_flavor(by: User, site: Site, *, name: str, description: str = "") -> Flavor:
    """A new flavor of ``site`` (which must not be rejected); on review unless by staff."""
    if not FLAVOR_RE.match(name):
        raise Invalid(
            "invalid_name",
            "a flavor name is 1-100 characters of letters, digits and . _ + -",
            details={"field": "name", "value": name[:200]},
        )
    if site.status == Status.REJECTED:
        raise Conflict("site_rejected", f"site {site.name} was rejected")
    flavor = Flavor(
        site=site,
        name=name,
        description=_text(description, "description", max_length=10_000),
        status=_initial_status(by),
        uploader=by,
    )
    return _create_reviewed(flavor, "flavor_exists", f"flavor {site.name}/{name} exists")


def update_flavor(flavor: Flavor, *, description: str | None = None) -> Flavor:
    if description is not None:
        flavor.description = _text(description, "description", max_length=10_000)
        flavor.save(update_fields=["description"])
    return flavor


def create_tag(by: User, *, name: str, description: str = "") -> Tag:
    """A new tag, usable at once by everyone (tags need no review)."""
    try:
        with transaction.atomic():
            return Tag.objects.create(
                name=validate_slug(name),
                description=_text(description, "description", max_length=10_000),
            )
    except IntegrityError:
        raise Conflict("tag_exists", f"tag {name} exists") from None


def update_tag(tag: Tag, by: User, *, description: str) -> Tag:
    """Change a tag's description (staff only: tags are shared by everyone; 403 otherwise)."""
    _staff_only(by, "edit tags")
    tag.description = _text(description, "description", max_length=10_000)
    tag.save(update_fields=["description"])
    return tag


def _staff_only(by: User, what: str) -> None:
    if not by.is_staff:
        raise Forbidden("admin_only", f"only administrators {what}")


def _references(obj: Benchmark | Site | Flavor | Tag) -> dict[str, int]:
    """What still points at ``obj`` and keeps it from being deleted (counts by kind)."""
    found: dict[str, int] = {}
    if isinstance(obj, Tag):
        found["results"] = obj.results.count()
    else:
        found["results"] = BenchmarkResult.objects.filter(**{resource_type_of(obj): obj}).count()
    if isinstance(obj, Site):
        found["flavors"] = obj.flavors.count()
    return {kind: count for kind, count in found.items() if count}


def delete_catalog_entry(obj: Benchmark | Site | Flavor | Tag, by: User) -> None:
    """Delete a benchmark, site, flavor or tag that nothing references (staff only, 403
    ``admin_only`` otherwise). Results (deleted ones too: their rows are kept) and, for a site,
    its flavors are references: 409 ``in_use`` names them with their counts in
    ``details.references``. The claims and submits about the entry go with it."""
    _staff_only(by, "delete benchmarks, sites, flavors and tags")
    what = _describe(obj) if not isinstance(obj, Tag) else f"tag {obj.name}"
    with transaction.atomic():
        locked = type(obj).objects.select_for_update().filter(pk=obj.pk)
        if not locked.exists():
            return
        references = _references(obj)
        if references:
            listed = ", ".join(f"{count} {kind}" for kind, count in references.items())
            raise Conflict(
                "in_use",
                f"{what} is still referenced by {listed}",
                details={"references": references},
            )
        locked.delete()


# --- results --------------------------------------------------------------------------------


def create_result(
    by: User,
    *,
    benchmark: Benchmark,
    flavor: Flavor,
    json: Any,
    execution_datetime: datetime,
    tags: Sequence[Tag] = (),
) -> BenchmarkResult:
    """Store one run of ``benchmark`` on ``flavor``.

    Refuses (409) a benchmark, flavor or site that is not approved, and (422) json that is not
    an object, holds NaN/Infinity/NUL, or does not match the benchmark's schema
    (``invalid_result`` lists every violation with its JSON path). Naive times are UTC.
    """
    if benchmark.status != Status.APPROVED:
        raise Conflict("benchmark_not_approved", f"benchmark {benchmark.name} is not approved")
    if flavor.status != Status.APPROVED:
        raise Conflict("flavor_not_approved", f"flavor {flavor.name} is not approved")
    if flavor.site.status != Status.APPROVED:
        raise Conflict("site_not_approved", f"site {flavor.site.name} is not approved")
    if not isinstance(json, dict):
        raise Invalid("invalid_result", "json must be a JSON object")
    check_json_values(json)
    validate_result(benchmark.pk, benchmark.json_schema, benchmark.schema_hash, json)
    if timezone.is_naive(execution_datetime):
        execution_datetime = execution_datetime.replace(tzinfo=UTC)
    if execution_datetime > timezone.now() + FUTURE_TOLERANCE:
        raise Invalid("execution_in_future", "execution_datetime is in the future")
    with transaction.atomic():
        result = BenchmarkResult.objects.create(
            json=json,
            execution_datetime=execution_datetime,
            benchmark=benchmark,
            flavor=flavor,
            site=flavor.site,
            uploader=by,
            benchmark_name=benchmark.name,
            site_name=flavor.site.name,
            flavor_name=flavor.name,
        )
        if tags:
            result.tags.set(tags)
    return result


def set_result_tags(result: BenchmarkResult, tags: Sequence[Tag]) -> BenchmarkResult:
    """Replace the tags of ``result`` with ``tags`` (the caller checked it may: its uploader
    or staff). The result's json, benchmark and flavor never change."""
    with transaction.atomic():
        result.tags.set(tags)
    return result


def delete_result(result: BenchmarkResult) -> BenchmarkResult:
    """Hide ``result`` from every normal query; the row is kept (staff still see it)."""
    result.deleted = True
    result.save(update_fields=["deleted"])
    return result


# --- claims and reviews ---------------------------------------------------------------------


def delete_claim(claim: Claim) -> None:
    """Delete ``claim`` and its submit, restoring the resource (seed 002's ``Claim.delete``): a
    result is shown again unless another open or upheld claim still holds it. A benchmark,
    site or flavor rejected by upholding this claim stays rejected: deleting a decided claim
    does not undo the decision, a new submission does."""
    with transaction.atomic():
        result_id = claim.result_id
        Claim.objects.filter(pk=claim.pk).delete()
        if result_id is not None:
            still_held = Claim.objects.filter(
                result_id=result_id, status__in=[Status.ON_REVIEW, Status.APPROVED]
            ).exists()
            BenchmarkResult.objects.filter(pk=result_id).update(claimed=still_held)


def _describe(resource: Benchmark | Site | Flavor | BenchmarkResult | Claim) -> str:
    if isinstance(resource, Benchmark):
        return f"benchmark {resource.name}"
    if isinstance(resource, Site):
        return f"site {resource.name}"
    if isinstance(resource, Flavor):
        return f"flavor {resource.site.name}/{resource.name}"
    if isinstance(resource, BenchmarkResult):
        return f"result {resource.pk} of {resource.benchmark.name}"
    return f"claim {resource.pk} on {_describe(resource.resource)}"


def file_claim(
    by: User, resource: Benchmark | Site | Flavor | BenchmarkResult, *, message: str
) -> Claim:
    """Report ``resource`` as false or wrong. A claimed result is hidden at once; staff review
    the claim through its Submit, and the resource's uploader is notified."""
    message = _text(message, "message", max_length=MAX_MESSAGE, required=True)
    field = resource_type_of(resource)
    with transaction.atomic():
        claim = Claim.objects.create(uploader=by, message=message, **{field: resource})
        _tell_admins(Submit.objects.create(claim=claim), claim)
        if isinstance(resource, BenchmarkResult):
            BenchmarkResult.objects.filter(pk=resource.pk).update(claimed=True)
            resource.claimed = True
        notify(
            resource.uploader,
            f"VisionHub: a claim was filed against your {_describe(resource)}",
            f"{by.username} claims:\n\n{message}\n\nAn administrator will review the claim."
            + (" Until then the result is hidden." if field == "result" else ""),
        )
    return claim


def review_submit(submit: Submit, by: User, *, approve: bool, message: str = "") -> Submit:
    """Approve or reject ``submit`` (staff only; 403 otherwise, 409 if already decided).

    Benchmark, site or flavor: becomes approved or rejected (a flavor only once its site is
    approved). Claim: approving upholds it (a result stays hidden; a benchmark, site or flavor
    becomes rejected), rejecting dismisses it (a result is shown again unless another claim
    holds it). The people concerned are notified in the same transaction.
    """
    if not by.is_staff:
        raise Forbidden("admin_only", "only administrators review submissions")
    message = _text(message, "message", max_length=MAX_MESSAGE)
    with transaction.atomic():
        locked = (
            Submit.objects.select_for_update(of=("self",))
            .select_related("benchmark", "site", "flavor__site", "claim")
            .get(pk=submit.pk)
        )
        if locked.status != Status.ON_REVIEW:
            raise Conflict("already_reviewed", f"this submit was already {locked.status}")
        decision = Status.APPROVED if approve else Status.REJECTED
        if locked.claim is not None:
            _decide_claim(locked.claim, decision, message)
        else:
            _decide_resource(locked, decision, message)
        locked.status = decision
        locked.reviewer = by
        locked.reviewed_at = timezone.now()
        locked.review_message = message
        locked.save(update_fields=["status", "reviewer", "reviewed_at", "review_message"])
    return locked


def _decide_resource(submit: Submit, decision: Status, message: str) -> None:
    resource = submit.resource
    assert isinstance(resource, Benchmark | Site | Flavor)
    if (
        isinstance(resource, Flavor)
        and decision == Status.APPROVED
        and resource.site.status != Status.APPROVED
    ):
        raise Conflict("site_not_approved", f"approve site {resource.site.name} first")
    try:
        with transaction.atomic():
            type(resource).objects.filter(pk=resource.pk).update(status=decision)
    except IntegrityError:
        # Approving would clash with a newer resource of the same name.
        raise Conflict("name_taken", f"another {_describe(resource)} exists") from None
    resource.status = decision
    verb = "approved" if decision == Status.APPROVED else "rejected"
    notify(
        resource.uploader,
        f"VisionHub: your {_describe(resource)} was {verb}",
        f"An administrator {verb} your {_describe(resource)}."
        + (f"\n\n{message}" if message else ""),
    )


def _decide_claim(claim: Claim, decision: Status, message: str) -> None:
    claim = Claim.objects.select_related(
        "uploader", "benchmark", "site", "flavor__site", "result__benchmark"
    ).get(pk=claim.pk)
    target = claim.resource
    Claim.objects.filter(pk=claim.pk).update(status=decision)
    upheld = decision == Status.APPROVED
    if isinstance(target, BenchmarkResult):
        still_held = Claim.objects.filter(
            result=target, status__in=[Status.ON_REVIEW, Status.APPROVED]
        ).exists()
        BenchmarkResult.objects.filter(pk=target.pk).update(claimed=still_held)
        outcome = "stays hidden" if still_held else "is shown again"
    elif upheld:
        type(target).objects.filter(pk=target.pk).update(status=Status.REJECTED)
        outcome = "is now rejected"
    else:
        outcome = "is unchanged"
    verb = "upheld" if upheld else "dismissed"
    note = f"\n\n{message}" if message else ""
    notify(
        claim.uploader,
        f"VisionHub: your claim on {_describe(target)} was {verb}",
        f"An administrator {verb} your claim; the {_describe(target)} {outcome}.{note}",
    )
    notify(
        target.uploader,
        f"VisionHub: the claim against your {_describe(target)} was {verb}",
        f"An administrator {verb} the claim; your {_describe(target)} {outcome}.{note}",
    )
