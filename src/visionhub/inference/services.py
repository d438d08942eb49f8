"""Every state change of classification requests a client makes: submit, cancel, save as a
label set; and the reads that wait (``?wait=``) or summarise (stats). The worker's side is in
``queue.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from visionhub.accounts.models import User
from visionhub.core.errors import ApiError, Conflict, Invalid, NotFound
from visionhub.datasets.access import readable_datasets
from visionhub.datasets.models import Category, Dataset, Image, LabelKind
from visionhub.datasets.services import annotations as annotation_services
from visionhub.datasets.services import labels
from visionhub.datasets.services.decode import (
    ImageTooLarge,
    InvalidImage,
    Rules,
    check_size,
    max_bytes,
)
from visionhub.inference import notify, queue
from visionhub.inference.models import TERMINAL, ClassificationRequest, Status, Worker
from visionhub.inference.predictions import annotations_of
from visionhub.inference.sql import IDS
from visionhub.registry.models import Deployment
from visionhub.storage.base import BlobTooLarge
from visionhub.storage.factory import get_store

MAX_BATCH = 100_000
BATCH_CHUNK = 5_000
MAX_PRIORITY = 10
MAX_WAIT_SECONDS = 60.0
LIVE_WORKER_SECONDS = 60
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


# --- submitting ----------------------------------------------------------------------------------


def check_priority(priority: int, user: User) -> int:
    """Priorities run from -10 to 10; above 0 (ahead of everyone's normal work) is for staff."""
    if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        raise Invalid(
            "invalid_priority",
            f"priority must be between {-MAX_PRIORITY} and {MAX_PRIORITY}",
            details={"priority": priority},
        )
    if priority > 0 and not user.is_staff:
        raise Invalid("invalid_priority", "only staff may submit above priority 0")
    return priority


def _check_deployment(deployment: Deployment) -> None:
    if not deployment.is_active:
        raise Conflict("deployment_inactive", f"deployment {deployment.name!r} is not active")


def probe_image(source: BinaryIO) -> None:
    """Check that ``source`` is an image Pillow recognises, within the pixel limit.

    Reads the header and verifies the file's structure without decoding the pixels: the full
    decode is the worker's job, and an image that fails there ends ``failed`` with the
    worker's error. Raises ``invalid_image`` (422) or ``image_too_large`` (413).
    """
    try:
        source.seek(0)
        with PILImage.open(source) as image:
            check_size(image.width, image.height, Rules())
            image.verify()
    except ApiError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageTooLarge(message=str(exc)) from None
    except _DECODE_ERRORS as exc:
        raise InvalidImage(
            message="the file is not an image Pillow can read",
            details={"reason": str(exc)[:200]},
        ) from None


def store_upload(source: BinaryIO, *, size: int | None = None) -> str:
    """Check an uploaded image and stream it into the blob store; returns its sha256."""
    limit = max_bytes()
    too_large = ImageTooLarge(
        message=f"the image has more than {limit} bytes", details={"max_bytes": limit}
    )
    if size is not None and size > limit:
        raise too_large
    probe_image(source)
    source.seek(0)
    try:
        return get_store().put(source, max_bytes=limit).sha256
    except BlobTooLarge:
        raise too_large from None


def submit_blob(
    deployment: Deployment,
    sha256: str,
    *,
    by: User,
    image: Image | None = None,
    priority: int = 0,
) -> ClassificationRequest:
    """Queue the stored image ``sha256`` for ``deployment``'s current model version.

    The caller has checked access. The request is routed now: a later rollout of the
    deployment does not change which version answers it.
    """
    _check_deployment(deployment)
    with transaction.atomic():
        request = ClassificationRequest.objects.create(
            **_routing(deployment),
            image_sha256=sha256,
            image=image,
            submitter=by,
            priority=priority,
            fair_key=queue.next_fair_key(by),
        )
        notify.announce_work([deployment.pk])
    request.deployment = deployment
    return request


def _routing(deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "model_version_id": deployment.model_version_id,
        "replication": deployment.replication,
        "quorum": deployment.quorum,
        "match_iou": deployment.match_iou,
        "score_tolerance": deployment.score_tolerance,
        "replicas_wanted": deployment.replication,
        "open_slots": deployment.replication,
    }


def submit_upload(
    deployment: Deployment,
    source: BinaryIO,
    *,
    by: User,
    size: int | None = None,
    priority: int = 0,
) -> ClassificationRequest:
    """Check and store an uploaded image, then queue it (see ``submit_blob``).

    A rejected upload stores nothing. A stored blob whose request then fails to insert is left
    to garbage collection: blobs are shared by content, so deleting it here could take it from
    someone else who uploaded the same bytes meanwhile.
    """
    _check_deployment(deployment)
    sha256 = store_upload(source, size=size)
    return submit_blob(deployment, sha256, by=by, priority=priority)


def submit_dataset_image(
    deployment: Deployment, image: Image, *, by: User, priority: int = 0
) -> ClassificationRequest:
    """Queue a dataset image the caller may read (fetched through ``datasets.access``)."""
    return submit_blob(deployment, image.sha256, by=by, image=image, priority=priority)


def _id_subquery(ids: Sequence[int]) -> RawSQL:
    """A subquery yielding ``ids``, bound as one parameter however many there are."""
    if connection.vendor == "postgresql":
        return RawSQL(IDS.postgres, [list(ids)])  # noqa: S611 (a constant of inference/sql.py)
    return RawSQL(IDS.sqlite, [json.dumps(list(ids))])  # noqa: S611 (a constant of inference/sql.py)


def readable_images(user: User, image_ids: Sequence[int]) -> dict[int, str]:
    """``{image id: sha256}`` of those of ``image_ids`` that ``user`` may read: one query."""
    rows = Image.objects.filter(
        pk__in=_id_subquery(sorted(set(image_ids))), dataset__in=readable_datasets(user)
    ).values_list("pk", "sha256")
    return dict(rows)


def submit_batch(
    deployment: Deployment, image_ids: Sequence[int], *, by: User, priority: int = 0
) -> list[int]:
    """Queue many dataset images at once; returns the new request ids in the given order.

    All or nothing: if any image is missing or unreadable to ``by``, nothing is queued and
    ``image_not_found`` (404) lists (some of) them. Rows are inserted in bulk, in chunks.
    """
    _check_deployment(deployment)
    if not image_ids:
        raise Invalid("empty_batch", "image_ids must not be empty")
    if len(image_ids) > MAX_BATCH:
        raise Invalid(
            "batch_too_large",
            f"at most {MAX_BATCH} images per call",
            details={"max": MAX_BATCH, "given": len(image_ids)},
        )
    found = readable_images(by, image_ids)
    missing = sorted({i for i in image_ids if i not in found})
    if missing:
        raise NotFound(
            "image_not_found",
            f"{len(missing)} of the images do not exist or are not yours to read",
            details={"image_ids": missing[:20], "count": len(missing)},
        )
    routing = _routing(deployment)
    ids: list[int] = []
    with transaction.atomic():
        base = queue.next_fair_key(by)
        for start in range(0, len(image_ids), BATCH_CHUNK):
            chunk = image_ids[start : start + BATCH_CHUNK]
            rows = [
                ClassificationRequest(
                    **routing,
                    image_sha256=found[image_id],
                    image_id=image_id,
                    submitter=by,
                    priority=priority,
                    fair_key=base + start + offset,
                )
                for offset, image_id in enumerate(chunk)
            ]
            created = ClassificationRequest.objects.bulk_create(rows, batch_size=1000)
            ids.extend(r.pk for r in created)
        notify.announce_work([deployment.pk])
    return ids


# --- cancelling and waiting ----------------------------------------------------------------------


def cancel_classification(request: ClassificationRequest) -> ClassificationRequest:
    """Cancel a request that has not ended; its leases are revoked at once.

    Cancelling a cancelled request changes nothing; a completed or failed one is a 409.
    """
    if request.status == Status.CANCELLED:
        return request
    queue.cancel([request.pk])
    fresh = _reload(request.pk)
    if fresh.status != Status.CANCELLED:
        raise Conflict(
            "not_cancellable",
            f"the classification has already ended ({fresh.status})",
            details={"status": fresh.status},
        )
    return fresh


def _reload(request_id: int) -> ClassificationRequest:
    """The request as it is now; 404 when it is gone (its deployment was deleted meanwhile)."""
    found = ClassificationRequest.objects.select_related("deployment").filter(pk=request_id)
    for request in found:
        return request
    raise NotFound("classification_not_found", "no such classification")


def wait_until_done(request: ClassificationRequest, wait: float) -> ClassificationRequest:
    """``request`` as it is once it ends, or after ``wait`` seconds (at most 60), whichever
    comes first. The thread holds no database connection while it waits."""
    wait = max(0.0, min(wait, MAX_WAIT_SECONDS))
    if request.status in TERMINAL or wait <= 0:
        return request

    def check() -> ClassificationRequest | None:
        fresh = _reload(request.pk)
        return fresh if fresh.status in TERMINAL else None

    done = notify.wait_for(check, waiters=notify.done_waiters, keys=[request.pk], timeout=wait)
    return done if done is not None else _reload(request.pk)


# --- reading -------------------------------------------------------------------------------------


def list_classifications(
    visible: QuerySet[ClassificationRequest],
    *,
    deployment: Deployment | None = None,
    status: str | None = None,
    submitter: User | None = None,
) -> QuerySet[ClassificationRequest]:
    """``visible`` narrowed by the list filters, newest first (paginate with ``-id``)."""
    if status is not None and status not in Status.values:
        raise Invalid("invalid_status", f"status must be one of {', '.join(Status.values)}")
    qs = visible.select_related("deployment")
    if deployment is not None:
        qs = qs.filter(deployment=deployment)
    if status is not None:
        qs = qs.filter(status=status)
    if submitter is not None:
        qs = qs.filter(submitter=submitter)
    return qs


@dataclass(frozen=True)
class DeploymentStats:
    deployment: str
    counts: dict[str, int]
    completed_last_minute: int
    failed_last_minute: int
    throughput_per_second: float
    live_workers: list[Worker]


def deployment_stats(deployment: Deployment) -> DeploymentStats:
    """Requests by status, what ended in the last minute, and the workers seen in it."""
    queue.expire_leases_if_due()
    now = timezone.now()
    minute_ago = now - timedelta(seconds=60)
    rows = (
        ClassificationRequest.objects.filter(deployment=deployment)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(Status.values, 0)
    counts.update(dict(rows))
    recent = (
        ClassificationRequest.objects.filter(
            deployment=deployment,
            status__in=[Status.COMPLETED, Status.FAILED],
            completed_at__gte=minute_ago,
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    ended = dict(recent)
    completed = ended.get(Status.COMPLETED, 0)
    return DeploymentStats(
        deployment=deployment.name,
        counts=counts,
        completed_last_minute=completed,
        failed_last_minute=ended.get(Status.FAILED, 0),
        throughput_per_second=round(completed / 60.0, 3),
        live_workers=live_workers(deployment, since=now - timedelta(seconds=LIVE_WORKER_SECONDS)),
    )


def live_workers(deployment: Deployment, *, since: datetime) -> list[Worker]:
    """Workers seen since ``since`` that take this deployment's work (or every deployment's)."""
    seen = (
        Worker.objects.select_related("owner").filter(last_seen__gte=since).order_by("-last_seen")
    )
    return [w for w in seen if not w.deployments or deployment.name in w.deployments]


# --- saving predictions as a label set -----------------------------------------------------------


def latest_predictions(
    deployment: Deployment, dataset: Dataset, *, by: User
) -> dict[int, ClassificationRequest]:
    """``{image id: request}``: ``by``'s latest completed request per image of ``dataset``
    through ``deployment`` (staff: anyone's), with its answer's fields only."""
    qs = ClassificationRequest.objects.filter(
        deployment=deployment, status=Status.COMPLETED, image__dataset=dataset
    )
    if not by.is_staff:
        qs = qs.filter(submitter=by)
    answers = qs.order_by("id").only("image_id", "label", "scores", "detections")
    return {request.image_id: request for request in answers if request.image_id is not None}


def save_label_set(
    deployment: Deployment, dataset: Dataset, name: str, *, by: User
) -> dict[str, Any]:
    """Save ``latest_predictions`` as a new Pred label set of ``dataset``: per image one
    classification annotation in the category named by the label (created if missing) with
    the label's score as ``conf``, or (detection deployments) one annotation per box, with its
    mask if any (``predictions.annotations_of``). All or nothing; 422 ``no_predictions`` if there is
    none."""
    predictions = latest_predictions(deployment, dataset, by=by)
    if not predictions:
        raise Invalid(
            "no_predictions",
            f"no completed classification of this dataset's images through {deployment.name!r}",
        )
    with transaction.atomic():
        label_set = labels.create_label_set(dataset, name, kind=LabelKind.PRED)
        categories = dict(Category.objects.filter(dataset=dataset).values_list("name", "pk"))
        names: set[str] = set()
        for r in predictions.values():
            names |= {d["label"] for d in r.detections} if r.detections is not None else {r.label}
        for label in sorted(names - set(categories)):
            categories[label] = labels.create_category(dataset, label).pk
        items = [
            {**item, "label_set_id": label_set.pk}
            for _, request in sorted(predictions.items())
            for item in annotations_of(request, categories)
        ]
        for start in range(0, len(items), annotation_services.MAX_PER_REQUEST):
            annotation_services.create_annotations(
                dataset, items[start : start + annotation_services.MAX_PER_REQUEST]
            )
    return {
        "id": label_set.pk,
        "name": label_set.name,
        "kind": label_set.kind,
        "dataset": dataset.pk,
        "annotations": len(items),
    }


def referenced_blobs() -> Iterator[str]:
    """The image blobs classification requests refer to (for garbage collection)."""
    yield from (
        ClassificationRequest.objects.values_list("image_sha256", flat=True)
        .distinct()
        .order_by()
        .iterator(chunk_size=10_000)
    )
