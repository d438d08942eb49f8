"""Free-text search (``GET /api/v1/<resource>/search?terms=…``, seed 002's ``:search``).

Every term is required (AND); a term matches when any of the resource's searched fields holds
it, case-insensitively (``icontains``). Results are searched through the names they copy from
their benchmark, site and flavor, and through their tags: a term is first resolved to the tags
whose name holds it (the tag table is small), then to the results carrying one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Exists, OuterRef, Q

from visionhub.benchmarks.models import BenchmarkResult, Tag
from visionhub.core.errors import Invalid

MAX_TERMS = 10
MAX_TERM_LENGTH = 100
MAX_TAGS_PER_TERM = 1000

BENCHMARK_FIELDS = ("docker_image", "docker_tag", "description")
SITE_FIELDS = ("name", "address", "description")
FLAVOR_FIELDS = ("name", "description", "site__name")
TAG_FIELDS = ("name", "description")
RESULT_FIELDS = ("benchmark_name", "site_name", "flavor_name")


def clean_terms(terms: Sequence[str]) -> tuple[str, ...]:
    """The stripped, non-empty terms; 422 ``invalid_terms`` for none, too many or too long."""
    cleaned = tuple(term.strip() for term in terms if term.strip())
    if not cleaned:
        raise Invalid("invalid_terms", "give at least one search term: ?terms=…")
    if len(cleaned) > MAX_TERMS:
        raise Invalid("invalid_terms", f"at most {MAX_TERMS} search terms")
    if any(len(term) > MAX_TERM_LENGTH for term in cleaned):
        raise Invalid("invalid_terms", f"a search term has at most {MAX_TERM_LENGTH} characters")
    return cleaned


def terms_condition(terms: Sequence[str], fields: Sequence[str]) -> Q:
    """Rows holding every term in at least one of ``fields``."""
    condition = Q()
    for term in clean_terms(terms):
        one = Q()
        for field in fields:
            one |= Q(**{f"{field}__icontains": term})
        condition &= one
    return condition


def result_terms(terms: Sequence[str]) -> Q:
    """Results holding every term in their benchmark, site or flavor name or a tag's name."""
    through = BenchmarkResult.tags.through
    condition = Q()
    for term in clean_terms(terms):
        one = Q()
        for field in RESULT_FIELDS:
            one |= Q(**{f"{field}__icontains": term})
        tag_ids = list(
            Tag.objects.filter(name__icontains=term).values_list("id", flat=True)[
                :MAX_TAGS_PER_TERM
            ]
        )
        if tag_ids:
            one |= Q(
                Exists(
                    through.objects.filter(benchmarkresult_id=OuterRef("pk"), tag_id__in=tag_ids)
                )
            )
        condition &= one
    return condition
