"""Runs of a deployment over a dataset: queue every (filtered) image at once, write each
accepted answer into a Pred label set as annotations, report progress, cancel.

A run's requests are ordinary requests (same queue, leases, quorum); what makes them a run is
``ClassificationRequest.run``. The annotations of an answer are written by ``write_annotations``
inside the transaction of the results call that completes the request, so an answer is written
exactly once: a worker killed before it answers loses nothing (the lease expires, another
worker answers), a repeated answer changes nothing, and a server restart loses no commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F

from visionhub.accounts.models import User
from visionhub.core.errors import ApiError, Conflict
from visionhub.datasets.models import Category, Dataset, LabelKind, LabelSet
from visionhub.datasets.services import annotations as annotation_services
from visionhub.datasets.services import labels
from visionhub.datasets.services.images import ImageFilter, browse
from visionhub.inference import notify, queue, services
from visionhub.inference.models import ClassificationRequest, Run, RunStatus, Status
from visionhub.inference.predictions import annotations_of
from visionhub.registry.models import Deployment

log = logging.getLogger("visionhub.inference")

CHUNK = 5_000
MAX_WRITE_ERRORS = 20
# Requests of these states mean "predicted, or being predicted": a new run of the same label
# set leaves their images out (failed and cancelled ones are queued again).
_PREDICTED = (Status.PENDING, Status.ASSIGNED, Status.COMPLETED)


def _check_deployment(deployment: Deployment) -> None:
    if not deployment.is_active:
        raise Conflict("deployment_inactive", f"deployment {deployment.name!r} is not active")


def pred_label_set(dataset: Dataset, name: str) -> LabelSet:
    """The dataset's label set ``name``, created as kind Pred if it does not exist; 409
    ``label_set_not_pred`` if it exists with another kind (predictions never mix into ground
    truth)."""
    existing = LabelSet.objects.filter(dataset=dataset, name=name).first()
    if existing is None:
        return labels.create_label_set(dataset, name, kind=LabelKind.PRED)
    if existing.kind != LabelKind.PRED:
        raise Conflict(
            "label_set_not_pred",
            f"label set {name!r} is a {existing.kind} label set; runs write into Pred ones",
            details={"kind": existing.kind},
        )
    return existing


def _categories(dataset: Dataset, names: Iterable[str]) -> dict[str, int]:
    """Category ids by name in ``dataset``, creating the missing ones."""
    known = dict(Category.objects.filter(dataset=dataset).values_list("name", "pk"))
    for name in sorted(set(names) - set(known)):
        known[name] = labels.create_category(dataset, name).pk
    return known


def create_run(
    deployment: Deployment,
    dataset: Dataset,
    label_set_name: str,
    *,
    by: User,
    filters: ImageFilter | None = None,
    priority: int = 0,
) -> Run:
    """Queue every image of ``dataset`` matching ``filters`` for ``deployment``; the answers
    go into the Pred label set ``label_set_name`` (created if missing; every class of the model
    becomes a category). Images with a pending, assigned or completed request of an earlier
    run into the same label set are skipped (resubmitting a run predicts what is missing).

    The caller has checked that ``by`` may use the deployment and write to the dataset.
    Requests are inserted in bulk (chunks of ``CHUNK``), all in one transaction.
    """
    _check_deployment(deployment)
    image_filter = filters or ImageFilter()
    with transaction.atomic():
        label_set = pred_label_set(dataset, label_set_name)
        classes = deployment.model_version.definition.classes or []
        _categories(dataset, [str(c) for c in classes])
        run = Run.objects.create(
            deployment=deployment,
            dataset=dataset,
            label_set=label_set,
            submitter=by,
            filters={k: v for k, v in vars(image_filter).items() if v is not None},
        )
        predicted = ClassificationRequest.objects.filter(
            run__label_set=label_set, status__in=_PREDICTED
        ).values("image_id")
        matching = browse(dataset, image_filter)
        total = matching.count()
        wanted = matching.exclude(pk__in=predicted).order_by("idx").values_list("pk", "sha256")
        routing = services._routing(deployment)  # the columns every new request gets
        base = queue.next_fair_key(by)
        rows: list[ClassificationRequest] = []
        queued = 0
        for image_id, sha256 in wanted.iterator(chunk_size=CHUNK):
            rows.append(
                ClassificationRequest(
                    **routing,
                    run=run,
                    image_sha256=sha256,
                    image_id=image_id,
                    submitter=by,
                    priority=priority,
                    fair_key=base + queued,
                )
            )
            queued += 1
            if len(rows) >= CHUNK:
                ClassificationRequest.objects.bulk_create(rows, batch_size=1000)
                rows = []
        if rows:
            ClassificationRequest.objects.bulk_create(rows, batch_size=1000)
        run.queued = queued
        run.skipped = total - queued
        run.save(update_fields=["queued", "skipped"])
        if queued:
            notify.announce_work([deployment.pk])
    return run


@dataclass(frozen=True)
class Progress:
    """How far a run is: its requests by status (``pending`` counts assigned ones too)."""

    counts: dict[str, int]

    @property
    def done(self) -> int:
        return self.counts.get(Status.COMPLETED, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(Status.FAILED, 0)

    @property
    def cancelled(self) -> int:
        return self.counts.get(Status.CANCELLED, 0)

    @property
    def pending(self) -> int:
        return self.counts.get(Status.PENDING, 0) + self.counts.get(Status.ASSIGNED, 0)


def progress(run: Run) -> Progress:
    """The run's requests by status: one grouped count on the (run, status) index."""
    queue.expire_leases_if_due()
    rows = (
        ClassificationRequest.objects.filter(run=run)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(Status.values, 0)
    counts.update(dict(rows))
    return Progress(counts)


def run_state(run: Run, done: Progress) -> str:
    """``cancelled``, ``running`` while requests are open, else ``finished``."""
    if run.status == RunStatus.CANCELLED:
        return RunStatus.CANCELLED
    return RunStatus.RUNNING if done.pending else "finished"


def cancel_run(run: Run) -> Run:
    """Cancel every request of the run that has not ended (their leases are revoked); what was
    already written stays. Cancelling twice changes nothing."""
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    run.status = RunStatus.CANCELLED
    open_ids = ClassificationRequest.objects.filter(
        run=run, status__in=[Status.PENDING, Status.ASSIGNED]
    ).values_list("pk", flat=True)
    batch: list[int] = []
    for pk in open_ids.iterator(chunk_size=CHUNK):
        batch.append(pk)
        if len(batch) >= 1000:
            queue.cancel(batch)
            batch = []
    if batch:
        queue.cancel(batch)
    return run


# --- writing answers -----------------------------------------------------------------------------


def write_annotations(requests: Sequence[ClassificationRequest]) -> None:
    """Write the answers of ``requests`` (completed now, in runs) into their runs' label sets:
    one bulk insert per run. Inside the caller's transaction; an insert the datasets app
    refuses (an image deleted meanwhile, a box outside a resized image) is recorded on the run
    and skips that run's batch, never the results call."""
    by_run: dict[int, list[ClassificationRequest]] = defaultdict(list)
    for request in requests:
        if request.run_id is not None and request.image_id is not None:
            by_run[request.run_id].append(request)
    if not by_run:
        return
    runs = Run.objects.select_related("dataset").in_bulk(sorted(by_run))
    for run_id, members in sorted(by_run.items()):
        run = runs.get(run_id)
        if run is None:
            continue
        names = {d["label"] for r in members for d in (r.detections or [])}
        names |= {r.label for r in members if r.detections is None}
        categories = _categories(run.dataset, names)
        items = [
            {**item, "label_set_id": run.label_set_id}
            for request in members
            for item in annotations_of(request, categories)
        ]
        written = 0
        try:
            with transaction.atomic():
                for start in range(0, len(items), annotation_services.MAX_PER_REQUEST):
                    chunk = items[start : start + annotation_services.MAX_PER_REQUEST]
                    written += annotation_services.create_annotations(run.dataset, chunk)
        except ApiError as exc:
            log.warning("run %s: %d answers not written: %s", run_id, len(members), exc.message)
            error = {"requests": [r.pk for r in members][:50], "error": exc.message[:500]}
            Run.objects.filter(pk=run_id).update(
                write_errors=[*run.write_errors, error][-MAX_WRITE_ERRORS:]
            )
            continue
        Run.objects.filter(pk=run_id).update(annotations=F("annotations") + written)
