"""How requests change as their leases end, and the bulk writes that record it.

``queue.py`` locks the requests a call touches, applies each lease's outcome to them through a
``Ledger`` (in memory), then ``Ledger.save()`` writes everything with one statement per table:
the rows travel as one JSON parameter, so a call costs the same few round trips for 1 lease or
256, and almost no Python per row (Django's ``bulk_update`` builds a ``CASE`` per field and row,
which costs far more than the database's work here).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import connection
from django.db.models import F
from django.dispatch import Signal

from visionhub.core.db import Twin
from visionhub.inference import notify, quorum
from visionhub.inference.models import (
    TERMINAL,
    ClassificationRequest,
    ClassificationResult,
    DispatchToken,
    Status,
    TokenState,
    Worker,
)
from visionhub.inference.sql import (
    INSERT_RESULTS,
    INSERT_TOKENS,
    LOCK_REQUESTS_OF_TOKENS,
    STATE_COLUMNS,
    WRITE_REQUESTS,
)

MAX_ERROR_CHARS = 2000

# Sent by ``Ledger.save`` inside its transaction with ``requests``: those of runs completed in
# it (``runs.write_annotations`` receives it, see ``receivers.py``).
run_answers_accepted = Signal()


def db_time(value: datetime) -> Any:
    """A datetime as the current database wants it as a raw SQL parameter."""
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)


def _json_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    adapted = db_time(value)
    return adapted.isoformat() if isinstance(adapted, datetime) else str(adapted)


def _execute(statement: Twin, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement.current, params)
        inserted: int = cursor.rowcount
        return inserted


def insert_tokens(
    rows: Sequence[dict[str, Any]],
    *,
    user_id: int,
    worker_id: int,
    created_at: datetime,
    expires_at: datetime,
) -> int:
    """Insert the leases of one claim (``TOKEN_COLUMNS`` per row) in one statement; returns how
    many were inserted (fewer than ``rows`` when a vote of the account already exists)."""
    params = [user_id, worker_id, db_time(created_at), db_time(expires_at), json.dumps(rows)]
    return _execute(INSERT_TOKENS, params)


def write_requests(requests: Sequence[ClassificationRequest]) -> None:
    """Save the ``STATE_COLUMNS`` of ``requests`` in one statement."""
    rows = [
        {
            "id": r.pk,
            **{name: getattr(r, name) for name, _ in STATE_COLUMNS},
            "completed_at": _json_time(r.completed_at),
        }
        for r in requests
    ]
    _execute(WRITE_REQUESTS, [json.dumps(rows)])


@dataclass
class NewResult:
    """A result to insert (``RESULT_COLUMNS``); ``accepted``/``agreed`` may change before."""

    request_id: int
    token_id: int
    worker_id: int | None
    user_id: int | None
    attempt: int
    label: str
    scores: dict[str, float] | None
    errors: list[str]
    accepted: bool = False
    agreed: bool | None = None
    detections: list[dict[str, Any]] | None = None


def insert_results(results: Sequence[NewResult], completed_on: datetime) -> None:
    rows = json.dumps([asdict(r) for r in results])
    _execute(INSERT_RESULTS, [db_time(completed_on), rows])


# --- locking ---------------------------------------------------------------------------------------


def lock_requests(ids: Iterable[int]) -> dict[int, ClassificationRequest]:
    """The requests, locked in id order (the lock order of every writer)."""
    rows = (
        ClassificationRequest.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
    )
    return {r.pk: r for r in rows}


TOKEN_FIELDS = (
    "id",
    "token_hash",
    "request_id",
    "user_id",
    "worker_id",
    "attempt",
    "state",
    "expires_at",
)


def lock_requests_of_tokens(
    hashes: Iterable[str],
) -> tuple[dict[int, ClassificationRequest], dict[str, DispatchToken]]:
    """Lock the requests of the tokens with these hashes (id order), then read the tokens.

    Token states only change under their request's lock, so what is read here stays true
    until the transaction ends.
    """
    hashes = sorted(set(hashes))
    if connection.vendor == "postgresql":
        query = ClassificationRequest.objects.raw(LOCK_REQUESTS_OF_TOKENS.postgres, [hashes])
    else:
        query = ClassificationRequest.objects.raw(
            LOCK_REQUESTS_OF_TOKENS.sqlite, [json.dumps(hashes)]
        )
    requests = {r.pk: r for r in query}
    tokens = DispatchToken.objects.filter(token_hash__in=hashes).only(*TOKEN_FIELDS)
    return requests, {t.token_hash: t for t in tokens}


# --- the ledger -------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What one transaction did to the requests it locked, written by ``save()``."""

    now: datetime
    requests: dict[int, ClassificationRequest] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    token_states: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    revoke_for: set[int] = field(default_factory=set)
    reopened_deployments: set[int] = field(default_factory=set)
    done: set[int] = field(default_factory=set)
    results: list[NewResult] = field(default_factory=list)
    agreed: dict[bool, list[int]] = field(default_factory=lambda: defaultdict(list))
    worker_counts: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    completed_in_runs: list[ClassificationRequest] = field(default_factory=list)
    _worker_names: dict[int, str] = field(default_factory=dict)

    def worker_name(self, worker_id: int | None) -> str | None:
        """The name of a worker, for the error log of a request (read once per call)."""
        if worker_id is None:
            return None
        if worker_id not in self._worker_names:
            names = Worker.objects.filter(pk=worker_id).values_list("name", flat=True)
            self._worker_names[worker_id] = next(iter(names), "")
        return self._worker_names[worker_id]

    def end_lease(self, request: ClassificationRequest, token: DispatchToken, state: str) -> None:
        token.state = state
        self.token_states[state].append(token.pk)
        self.dirty.add(request.pk)
        request.active_leases = max(0, request.active_leases - 1)

    def reopen(self, request: ClassificationRequest, slots: int = 1) -> None:
        request.open_slots += slots
        self.reopened_deployments.add(request.deployment_id)

    def fail(self, request: ClassificationRequest, error: str | None = None) -> None:
        """End ``request`` as failed; its other leases are revoked."""
        request.status = Status.FAILED
        request.completed_at = self.now
        request.open_slots = 0
        if error is not None:
            entry = {"attempt": None, "error": error, "worker": None, "at": self.now.isoformat()}
            request.errors = [*request.errors, entry]
        self.dirty.add(request.pk)
        self.revoke_for.add(request.pk)
        self.done.add(request.pk)

    def complete(
        self,
        request: ClassificationRequest,
        label: str,
        scores: Any,
        detections: list[dict[str, Any]] | None = None,
    ) -> None:
        request.status = Status.COMPLETED
        request.completed_at = self.now
        request.open_slots = 0
        request.label = label
        request.scores = scores
        request.detections = detections
        self.dirty.add(request.pk)
        self.done.add(request.pk)
        if request.run_id is not None:
            self.completed_in_runs.append(request)

    def cancel(self, request: ClassificationRequest) -> None:
        request.status = Status.CANCELLED
        request.completed_at = self.now
        request.open_slots = 0
        self.dirty.add(request.pk)
        self.revoke_for.add(request.pk)
        self.done.add(request.pk)

    def record_failure(
        self, request: ClassificationRequest, token: DispatchToken, error: str
    ) -> None:
        """A lease ended without a label (an error, or expiry): retry, or fail at
        ``max_attempts``. Every error is kept, with the attempt and the worker's name."""
        request.failures += 1
        entry = {
            "attempt": token.attempt,
            "error": error[:MAX_ERROR_CHARS],
            "worker": self.worker_name(token.worker_id),
            "at": self.now.isoformat(),
        }
        request.errors = [*request.errors, entry]
        if request.failures >= request.max_attempts:
            self.fail(request)
        else:
            self.reopen(request)

    def count_vote(self, worker_id: int | None, *, agreed: bool) -> None:
        if worker_id is not None:
            counts = self.worker_counts[worker_id]
            counts["compared"] += 1
            counts["agreed"] += int(agreed)

    def save(self) -> None:
        """Write everything in bulk (inside the transaction that locked the requests) and
        announce, on commit, the requests that ended and the deployments with work again."""
        for state, ids in self.token_states.items():
            if ids:
                DispatchToken.objects.filter(pk__in=ids).update(state=state, finished_at=self.now)
        if self.revoke_for:
            DispatchToken.objects.filter(
                request_id__in=self.revoke_for, state=TokenState.ACTIVE
            ).update(state=TokenState.REVOKED, finished_at=self.now)
            for rid in self.revoke_for:
                self.requests[rid].active_leases = 0
        dirty = [self.requests[rid] for rid in sorted(self.dirty)]
        for request in dirty:
            if request.status not in TERMINAL:
                has_lease = request.active_leases > 0
                request.status = Status.ASSIGNED if has_lease else Status.PENDING
        if dirty:
            write_requests(dirty)
        if self.results:
            insert_results(self.results, self.now)
        if self.completed_in_runs:
            # The answers of runs become annotations in this same transaction: written once.
            run_answers_accepted.send(sender=Ledger, requests=self.completed_in_runs)
        for agreed, ids in self.agreed.items():
            ClassificationResult.objects.filter(pk__in=ids).update(agreed=agreed)
        # Worker rows are shared between requests: lock them in one order (their ids), or two
        # results calls counting the same voters in opposite orders deadlock.
        for worker_id, counts in sorted(self.worker_counts.items()):
            Worker.objects.filter(pk=worker_id).update(
                jobs_done=F("jobs_done") + counts["done"],
                jobs_failed=F("jobs_failed") + counts["failed"],
                votes_compared=F("votes_compared") + counts["compared"],
                votes_agreed=F("votes_agreed") + counts["agreed"],
            )
        notify.announce_work(self.reopened_deployments)
        notify.announce_done(self.done)


# --- answers ---------------------------------------------------------------------------------------


class AnswerLike(Protocol):
    @property
    def label(self) -> str | None: ...
    @property
    def scores(self) -> dict[str, float] | list[float] | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def detections(self) -> list[dict[str, Any]] | None: ...


def check_answer(
    answer: AnswerLike, classes: Sequence[str], task: str = "classification"
) -> tuple[str | None, dict[str, float] | None]:
    """Why ``answer`` is malformed (``invalid_result``), or None and its scores by class.

    An answer is a label among the model's classes, with optional scores (by class, or a list
    in class order; finite numbers), or else a non-empty error. A detection or segmentation
    model's answer is ``detections`` instead (see ``quorum.check_detections``).
    """
    if answer.error is not None:
        if answer.label is not None or answer.detections is not None:
            return "invalid_result", None
        if not answer.error.strip():
            return "invalid_result", None
        return None, None
    if task != "classification":
        if answer.label is not None or answer.scores is not None or answer.detections is None:
            return "invalid_result", None
        return quorum.check_detections(answer.detections, classes, task), None
    if answer.detections is not None:
        return "invalid_result", None
    if not answer.label or answer.label not in classes:
        return "invalid_result", None
    scores = answer.scores
    if scores is None:
        return None, None
    if isinstance(scores, list):
        if len(scores) != len(classes):
            return "invalid_result", None
        scores = dict(zip(classes, scores, strict=True))
    if any(key not in classes for key in scores) or not all(
        math.isfinite(v) for v in scores.values()
    ):
        return "invalid_result", None
    return None, {k: float(v) for k, v in scores.items()}


@dataclass
class Vote:
    """A label already given on a replicated request (``result`` set if given in this call).

    A detection answer's ``label`` is the key of the group of answers it agrees with (the
    first earlier answer that it matches by geometry), so votes are counted as labels are.
    """

    label: str
    worker_id: int | None
    result_id: int | None = None
    result: NewResult | None = None
    detections: list[dict[str, Any]] | None = None


def votes_of(requests: Sequence[ClassificationRequest]) -> dict[int, list[Vote]]:
    """The labels given so far on each of ``requests``, oldest first (one query)."""
    votes: dict[int, list[Vote]] = defaultdict(list)
    if requests:
        rows = (
            ClassificationResult.objects.filter(request__in=requests)
            .exclude(label="", detections__isnull=True)
            .order_by("pk")
            .values_list("pk", "request_id", "label", "worker_id", "detections")
        )
        by_id = {r.pk: r for r in requests}
        for pk, request_id, label, worker_id, detections in rows:
            vote = Vote(label, worker_id, result_id=pk, detections=detections)
            if detections is not None:
                vote.label = _group_of(by_id[request_id], votes[request_id], detections)
            votes[request_id].append(vote)
    return votes


def _group_of(
    request: ClassificationRequest, votes: list[Vote], detections: list[dict[str, Any]]
) -> str:
    """The group key of a detection answer among ``votes``: that of the first it agrees with."""
    for vote in votes:
        if vote.detections is not None and quorum.same_detections(
            vote.detections,
            detections,
            min_iou=request.match_iou,
            score_tolerance=request.score_tolerance,
        ):
            return vote.label
    return f"answer {len({v.label for v in votes}) + 1}"


def apply_answer(
    ledger: Ledger,
    request: ClassificationRequest,
    token: DispatchToken,
    answer: AnswerLike,
    scores: dict[str, float] | None,
    votes: list[Vote],
) -> None:
    """Record a checked answer of ``token``'s lease: complete, vote, retry or fail."""
    ledger.end_lease(request, token, TokenState.USED)
    result = NewResult(
        request_id=request.pk,
        token_id=token.pk,
        worker_id=token.worker_id,
        user_id=token.user_id,
        attempt=token.attempt,
        label=answer.label or "",
        scores=scores,
        errors=[answer.error[:MAX_ERROR_CHARS]] if answer.error is not None else [],
        detections=answer.detections if answer.error is None else None,
    )
    ledger.results.append(result)
    counts = ledger.worker_counts[token.worker_id]
    if answer.error is not None:
        counts["failed"] += 1
        if request.status not in TERMINAL:
            ledger.record_failure(request, token, answer.error)
        return
    counts["done"] += 1
    if request.replication <= 1:
        result.accepted = True
        if request.status not in TERMINAL:
            ledger.complete(request, result.label, scores, result.detections)
        return
    if request.status == Status.COMPLETED:  # a late replica: compared, changes nothing
        result.agreed = _same_answer(request, result)
        ledger.count_vote(result.worker_id, agreed=result.agreed)
        return
    label = result.label
    if result.detections is not None:
        label = _group_of(request, votes, result.detections)
    votes.append(Vote(label, token.worker_id, result=result, detections=result.detections))
    _count_votes(ledger, request, votes, result)


def _same_answer(request: ClassificationRequest, result: NewResult) -> bool:
    """Whether a late replica agrees with the request's accepted answer."""
    if result.detections is None or request.detections is None:
        return result.label == request.label and result.detections is None
    return quorum.same_detections(
        request.detections,
        result.detections,
        min_iou=request.match_iou,
        score_tolerance=request.score_tolerance,
    )


def _count_votes(
    ledger: Ledger, request: ClassificationRequest, votes: list[Vote], latest: NewResult
) -> None:
    accepted = quorum.winner([v.label for v in votes], request.quorum)
    if accepted is not None:
        # Only the latest vote can have completed the quorum: it is the accepted result.
        latest.accepted = True
        if latest.detections is not None:
            ledger.complete(request, "", None, latest.detections)
        else:
            ledger.complete(request, accepted, latest.scores)
        for vote in votes:
            agreed = vote.label == accepted
            if vote.result is not None:
                vote.result.agreed = agreed
            elif vote.result_id is not None:
                ledger.agreed[agreed].append(vote.result_id)
            ledger.count_vote(vote.worker_id, agreed=agreed)
        return
    more = quorum.more_replicas(
        [v.label for v in votes],
        quorum=request.quorum,
        outstanding=request.open_slots + request.active_leases,
        wanted=request.replicas_wanted,
        limit=quorum.max_replicas(request.replication),
    )
    if more is None:
        tally = dict(Counter(v.label for v in votes))
        ledger.fail(
            request, f"no_consensus: no label reached the quorum of {request.quorum}: {tally}"
        )
    elif more:
        request.replicas_wanted += more
        ledger.reopen(request, more)
