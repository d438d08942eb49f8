"""What every page's template sees: the navigation, with the area of the current page marked."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# (label, URL name, path used until that page's view exists)
AREAS = [
    ("Home", "web:home", "/"),
    ("Datasets", "web:datasets", "/datasets/"),
    ("Models", "web:models", "/models/"),
    ("Deployments", "web:deployments", "/deployments/"),
    ("Labeling", "web:label-projects", "/labeling/"),
    ("Benchmarks", "web:benchmark-results", "/benchmarks/results/"),
    ("Vault", "web:vault", "/vault/"),
]


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _active(path: str, url: str) -> bool:
    if url == "/":
        return path == "/"
    area = url.rstrip("/").split("/")[1]
    return path.startswith(f"/{area}/") or path == f"/{area}"


def navigation(request: HttpRequest) -> dict[str, object]:
    items = [
        NavItem(label, url, _active(request.path, url))
        for label, name, fallback in AREAS
        for url in [_url(name, fallback)]
    ]
    return {"nav_items": items, "api_docs_url": "/api/v1/docs"}
