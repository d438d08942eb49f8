"""Client methods for the benchmark-results database (``/benchmarks``, ``/sites``, ``/flavors``,
``/tags``, ``/benchmark-results``, ``/claims``, ``/submits``). No Django here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from visionhub.client.base import BaseClient, ClientError


def _iso(value: datetime | str | None) -> str:
    if value is None:
        return datetime.now(UTC).isoformat()
    return value if isinstance(value, str) else value.isoformat()


class BenchmarksClient(BaseClient):
    # --- benchmarks -----------------------------------------------------------------------

    def create_benchmark(
        self,
        docker_image: str,
        docker_tag: str,
        json_schema: Mapping[str, Any],
        *,
        url: str = "",
        description: str = "",
    ) -> dict[str, Any]:
        """Register a benchmark; non-admins' benchmarks wait on review (``status``)."""
        body = {
            "docker_image": docker_image,
            "docker_tag": docker_tag,
            "json_schema": dict(json_schema),
            "url": url,
            "description": description,
        }
        result: dict[str, Any] = self.post("/benchmarks", json=body)
        return result

    def list_benchmarks(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Benchmarks the caller can see; ``docker_image``, ``docker_tag``, ``status`` filter."""
        return self.iterate("/benchmarks", _clean(params))

    def find_benchmark(self, name: str) -> dict[str, Any]:
        """The benchmark ``IMAGE:TAG`` (an approved one before the caller's own on review)."""
        image, sep, tag = name.rpartition(":")
        if not sep or not image or "/" in tag:
            raise ValueError(f"a benchmark is named IMAGE:TAG, not {name!r}")
        found = list(self.list_benchmarks(docker_image=image, docker_tag=tag))
        return _best(found, "benchmark", name)

    def inference_benchmark(self) -> dict[str, Any]:
        """VisionHub's built-in inference benchmark for the server's version."""
        result: dict[str, Any] = self.get("/benchmarks/inference")
        return result

    # --- sites, flavors, tags --------------------------------------------------------------

    def create_site(self, name: str, address: str, *, description: str = "") -> dict[str, Any]:
        body = {"name": name, "address": address, "description": description}
        result: dict[str, Any] = self.post("/sites", json=body)
        return result

    def list_sites(self, **params: Any) -> Iterator[dict[str, Any]]:
        return self.iterate("/sites", _clean(params))

    def find_site(self, name: str) -> dict[str, Any]:
        return _best(list(self.list_sites(name=name)), "site", name)

    def create_flavor(self, site_id: str, name: str, *, description: str = "") -> dict[str, Any]:
        body = {"site_id": site_id, "name": name, "description": description}
        result: dict[str, Any] = self.post("/flavors", json=body)
        return result

    def list_flavors(self, **params: Any) -> Iterator[dict[str, Any]]:
        return self.iterate("/flavors", _clean(params))

    def find_flavor(self, name: str) -> dict[str, Any]:
        """The flavor ``SITE/FLAVOR``."""
        site_name, sep, flavor_name = name.partition("/")
        if not sep or not site_name or not flavor_name:
            raise ValueError(f"a flavor is named SITE/FLAVOR, not {name!r}")
        site = self.find_site(site_name)
        found = list(self.list_flavors(site_id=site["id"], name=flavor_name))
        return _best(found, "flavor", name)

    def create_tag(self, name: str, *, description: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.post("/tags", json={"name": name, "description": description})
        return result

    def list_tags(self, **params: Any) -> Iterator[dict[str, Any]]:
        return self.iterate("/tags", _clean(params))

    def ensure_tags(self, names: Iterable[str]) -> list[str]:
        """The ids of the tags ``names``, creating the missing ones."""
        ids = []
        for name in names:
            found = list(self.list_tags(name=name))
            if found:
                ids.append(str(found[0]["id"]))
                continue
            try:
                ids.append(str(self.create_tag(name)["id"]))
            except ClientError as exc:
                if exc.code != "tag_exists":
                    raise
                ids.append(str(next(self.list_tags(name=name))["id"]))
        return ids

    # --- results ---------------------------------------------------------------------------

    def upload_result(
        self,
        json: Mapping[str, Any],
        *,
        benchmark_id: str,
        flavor_id: str,
        tags_ids: Iterable[str] = (),
        execution_datetime: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Upload one result; the server validates ``json`` against the benchmark's schema."""
        body = {
            "json": dict(json),
            "benchmark_id": benchmark_id,
            "flavor_id": flavor_id,
            "tags_ids": list(tags_ids),
            "execution_datetime": _iso(execution_datetime),
        }
        result: dict[str, Any] = self.post("/benchmark-results", json=body)
        return result

    def list_results(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Results matching ``params``: ``benchmark_id``, ``site_id``, ``flavor_id``, ``tags_all``
        and ``tags_any`` (lists of names), ``execution_after``/``execution_before``,
        ``uploader``, ``filters`` (a list of ``"path op value"``), ``contains`` (a JSON text),
        ``sort_by``."""
        return self.iterate("/benchmark-results", _clean(params))

    def get_result(self, result_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/benchmark-results/{result_id}")
        return result

    def delete_result(self, result_id: str) -> None:
        self.delete(f"/benchmark-results/{result_id}")

    def upload_inference_result(
        self,
        json: Mapping[str, Any],
        site: str,
        flavor: str,
        tags: Iterable[str] = (),
        *,
        execution_datetime: datetime | str | None = None,
        site_address: str = "unknown",
    ) -> dict[str, Any]:
        """Upload a ``visionhub worker bench`` measurement into the built-in inference benchmark.

        ``site`` and ``flavor`` are names; a missing site or flavor is created (approved at
        once for an admin, on review for anyone else: the upload then fails with 409
        ``site_not_approved`` or ``flavor_not_approved`` until an admin approves them).
        Missing tags are created.
        """
        benchmark = self.inference_benchmark()
        try:
            site_obj = self.find_site(site)
        except ClientError as exc:
            if exc.code != "site_not_found":
                raise
            site_obj = self.create_site(site, site_address)
        try:
            flavor_obj = self.find_flavor(f"{site}/{flavor}")
        except ClientError as exc:
            if exc.code != "flavor_not_found":
                raise
            flavor_obj = self.create_flavor(site_obj["id"], flavor)
        return self.upload_result(
            json,
            benchmark_id=benchmark["id"],
            flavor_id=flavor_obj["id"],
            tags_ids=self.ensure_tags(tags),
            execution_datetime=execution_datetime,
        )

    # --- claims and reviews ----------------------------------------------------------------

    def file_claim(self, resource_type: str, resource_id: str, message: str) -> dict[str, Any]:
        body = {"resource_type": resource_type, "resource_id": resource_id, "message": message}
        result: dict[str, Any] = self.post("/claims", json=body)
        return result

    def list_claims(self, **params: Any) -> Iterator[dict[str, Any]]:
        return self.iterate("/claims", _clean(params))

    def list_submits(self, **params: Any) -> Iterator[dict[str, Any]]:
        return self.iterate("/submits", _clean(params))

    def approve_submit(self, submit_id: str, message: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            f"/submits/{submit_id}/approve", json={"message": message}
        )
        return result

    def reject_submit(self, submit_id: str, message: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            f"/submits/{submit_id}/reject", json={"message": message}
        )
        return result


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != [] and v != ()}


def _best(found: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """Of the visible resources with one name, the approved one, else the caller's own."""
    if not found:
        raise ClientError(404, f"{kind}_not_found", f"no {kind} {name!r}", {})
    order = {"approved": 0, "on_review": 1, "rejected": 2}
    return min(found, key=lambda item: order.get(str(item.get("status")), 3))
