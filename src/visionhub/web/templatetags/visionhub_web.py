"""Template helpers of the pages."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def page_link(name: str, fallback: str, *args: object) -> str:
    """The URL of page ``name`` with ``args``; ``fallback`` (``{}`` filled with the args) while
    that page belongs to an area whose views have not landed yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback.format(*args)


@register.filter
def percent(value: float | None) -> str:
    return "" if value is None else f"{100 * float(value):.0f} %"
