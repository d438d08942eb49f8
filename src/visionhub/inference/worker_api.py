"""The worker protocol (PRODUCT.md §5): claim, heartbeat, results, release.

Only accounts with the worker permission may call these (403 ``not_a_worker``). Mounted on the
inference router by ``api.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from ninja import Router

from visionhub.accounts.auth import current_user
from visionhub.accounts.models import User
from visionhub.core.connection import client_connected
from visionhub.inference import queue, recent
from visionhub.inference.access import require_worker
from visionhub.inference.schemas import (
    ClaimIn,
    ClaimOut,
    LeasesIn,
    LeaseVerdictsOut,
    ResultsIn,
    ResultVerdictsOut,
)
from visionhub.storage.signing import blob_url

router = Router(tags=["workers"])


def _worker_user(request: HttpRequest) -> User:
    return require_worker(current_user(request))


@router.post("/worker/claim", response=ClaimOut)
def claim(request: HttpRequest, body: ClaimIn) -> dict[str, Any]:
    """Lease up to ``max`` (at most 256) requests; with ``wait``, long-poll up to 60 s."""
    user = _worker_user(request)
    info = body.worker
    worker = queue.register_worker(
        user,
        name=info.name if info else "default",
        version=(info.version if info else None) or "",
        site=(info.site if info else None) or "",
        flavor=(info.flavor if info else None) or "",
        deployments=body.deployments or [],
    )
    ids = None
    if body.deployments is not None:
        ids = list(recent.deployments.get_many(body.deployments).values())
    claimed = queue.claim_or_wait(
        user,
        worker,
        limit=body.max,
        wait=body.wait,
        deployment_ids=ids,
        still_wanted=lambda: client_connected(request),
    )
    return {"jobs": _jobs(request, claimed)}


def _jobs(request: HttpRequest, claimed: Sequence[queue.Claimed]) -> list[dict[str, Any]]:
    """The claim answer: each lease with its model (files as download links) and image."""
    known = recent.models.get_many(c.model_version_id for c in claimed)
    models = {
        pk: {
            **model,
            "files": [
                {"name": name, "sha256": sha256, "url": blob_url(request, sha256, filename=name)}
                for name, sha256 in model["files"]
            ],
        }
        for pk, model in known.items()
    }
    return [
        {
            "request_id": c.request_id,
            "dispatch_token": c.dispatch_token,
            "lease_expires_at": c.lease_expires_at,
            "model": models[c.model_version_id],
            "image": {"sha256": c.image_sha256, "url": blob_url(request, c.image_sha256)},
        }
        for c in claimed
    ]


def _leases(body: LeasesIn) -> list[queue.LeaseRef]:
    return [queue.LeaseRef(lease.request_id, lease.dispatch_token) for lease in body.leases]


@router.post("/worker/heartbeat", response=LeaseVerdictsOut)
def heartbeat(request: HttpRequest, body: LeasesIn) -> dict[str, Any]:
    """Extend the caller's leases; per lease ``extended`` (with the new expiry) or ``rejected``."""
    verdicts = queue.heartbeat(_worker_user(request), _leases(body))
    return {"leases": verdicts}


@router.post("/worker/results", response=ResultVerdictsOut)
def results(request: HttpRequest, body: ResultsIn) -> dict[str, Any]:
    """Answer leases; per item ``accepted`` or ``rejected`` with a reason."""
    answers = [
        queue.Answer(
            r.request_id,
            r.dispatch_token,
            r.label,
            r.scores,
            r.error,
            None if r.detections is None else [d.as_json() for d in r.detections],
        )
        for r in body.results
    ]
    return {"results": queue.submit_results(_worker_user(request), answers)}


@router.post("/worker/release", response=LeaseVerdictsOut)
def release(request: HttpRequest, body: LeasesIn) -> dict[str, Any]:
    """Give leases back unused (shutting down): back to the queue, no attempt counted."""
    return {"leases": queue.release(_worker_user(request), _leases(body))}
