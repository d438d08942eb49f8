"""The work queue: claim, heartbeat, results, release, lease expiry and cancelling.

Queue order is ``(priority DESC, fair_key, id)``. ``fair_key`` is start-time fair queuing
between submitters: a new request gets one more than its submitter's last queued key, but never
less than the key at the head of the queue. A user who submits 100,000 images gets keys
h, h+1, … h+99,999; another user's single request, submitted later, gets h' (the head at that
moment), so it waits for at most one request of each other user ahead of it, never for the
whole batch. Requests that come back (expired, failed attempt) keep their key: first in line.

A lease is a ``DispatchToken``: the worker gets the secret once, the table keeps its SHA-256.
A result counts only with the token of an active, unexpired lease of that request, held by the
calling account; the token is then used up, so a second answer changes nothing.

Locking: every writer locks request rows before touching their tokens, in id order; claims
skip rows others hold (``FOR UPDATE SKIP LOCKED``) and never wait. On SQLite every write
transaction holds the database's write lock from ``BEGIN IMMEDIATE``, which serialises them.
How requests change as leases end, and the bulk writes, are in ``ledger.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from visionhub.accounts.models import User
from visionhub.core import db
from visionhub.core.hashing import hash_secret, new_secret
from visionhub.inference import notify, quorum, recent
from visionhub.inference.ledger import (
    Ledger,
    apply_answer,
    check_answer,
    db_time,
    insert_tokens,
    lock_requests,
    lock_requests_of_tokens,
    votes_of,
)
from visionhub.inference.models import (
    TERMINAL,
    ClassificationRequest,
    DispatchToken,
    TokenState,
    Worker,
)
from visionhub.inference.sql import CLAIM, EXPIRED_LEASES, PEEK, QUEUE_HEAD, USER_TAIL

MAX_CLAIM = 256
MAX_WAIT_SECONDS = 60.0
TOKEN_PREFIX = "vhd_"  # noqa: S105  (a public prefix, not a secret)
EXPIRE_BATCH = 500


@dataclass(frozen=True)
class Claimed:
    """One lease as handed out; ``dispatch_token`` is the only copy of the secret."""

    request_id: int
    dispatch_token: str
    lease_expires_at: datetime
    model_version_id: int
    image_sha256: str


@dataclass(frozen=True)
class Verdict:
    """The answer about one lease or result of a worker's call."""

    request_id: int
    status: str
    reason: str | None = None
    lease_expires_at: datetime | None = None


class HoldsLease(Protocol):
    @property
    def request_id(self) -> int: ...
    @property
    def dispatch_token(self) -> str: ...


@dataclass(frozen=True)
class LeaseRef:
    request_id: int
    dispatch_token: str


@dataclass(frozen=True)
class Answer:
    """A worker's answer for one lease: a label (with scores) or an error."""

    request_id: int
    dispatch_token: str
    label: str | None = None
    scores: dict[str, float] | list[float] | None = None
    error: str | None = None
    detections: list[dict[str, Any]] | None = None


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.LEASE_SECONDS)


def queue_sql(
    template: str, *, user_id: int, limit: int, deployment_ids: Sequence[int] | None
) -> tuple[str, list[Any]]:
    """``template`` (``CLAIM_*``, ``PEEK``) for this caller, and its parameters; a claim takes
    two more: now and the lease's expiry (after these on PostgreSQL, before on SQLite)."""
    filters = ""
    filter_params: list[Any] = []
    if deployment_ids is not None:
        clause, filter_params = db.id_in("q.deployment_id", deployment_ids)
        filters = "AND " + clause
    trust = [quorum.MIN_VOTES, float(settings.WORKER_MIN_AGREEMENT), user_id]
    sql = template.replace("{filters}", filters)
    return sql, [user_id, *trust, *filter_params, limit]


# --- workers and trust --------------------------------------------------------------------------

WORKER_TOUCH_SECONDS = 5
# (user id, username, worker name) -> (the row, its labels, when this process marked it seen)
workers_seen: dict[tuple[int, str, str], tuple[Worker, dict[str, Any], float]] = {}
workers_lock = threading.Lock()


def _forget_workers_seen() -> None:
    with workers_lock:
        workers_seen.clear()


recent.also_clear(_forget_workers_seen)


def register_worker(
    user: User,
    *,
    name: str = "default",
    version: str = "",
    site: str = "",
    flavor: str = "",
    deployments: Sequence[str] = (),
) -> Worker:
    """The ``Worker`` row of ``user``'s process ``name``, created on first sight, marked seen
    (at most every few seconds: it is called on every claim)."""
    now = timezone.now()
    fields = {
        "version": version[:100],
        "site": site[:200],
        "flavor": flavor[:200],
        "deployments": sorted(set(deployments)),
    }
    name = (name or "default")[:200]
    key = (user.pk, user.username, name)
    with workers_lock:
        seen = workers_seen.get(key)
    if seen is not None and seen[1] == fields and time.monotonic() - seen[2] < WORKER_TOUCH_SECONDS:
        return seen[0]
    worker = _touch_worker(user, name, fields, now)
    with workers_lock:
        workers_seen[key] = (worker, fields, time.monotonic())
    return worker


def _touch_worker(user: User, name: str, fields: dict[str, Any], now: datetime) -> Worker:
    worker = Worker.objects.filter(owner=user, name=name).first()
    if worker is None:
        try:
            with transaction.atomic():
                return Worker.objects.create(owner=user, name=name, last_seen=now, **fields)
        except IntegrityError:  # another process of the same name registered first
            worker = Worker.objects.get(owner=user, name=name)
    changed = any(getattr(worker, k) != v for k, v in fields.items())
    if changed or (now - worker.last_seen).total_seconds() > WORKER_TOUCH_SECONDS:
        Worker.objects.filter(pk=worker.pk).update(last_seen=now, **fields)
        worker.last_seen = now
        for key, value in fields.items():
            setattr(worker, key, value)
    return worker


def account_is_trusted(user: User) -> bool:
    """Whether ``user``'s workers may be given requests that a single vote decides (the rule
    the claim statement applies; see ``quorum.is_trusted``)."""
    totals = Worker.objects.filter(owner=user).aggregate(
        compared=Sum("votes_compared"), agreed=Sum("votes_agreed")
    )
    return quorum.is_trusted(totals["compared"] or 0, totals["agreed"] or 0)


# --- claiming -----------------------------------------------------------------------------------


def has_work(user: User, *, deployment_ids: Sequence[int] | None) -> bool:
    """Whether ``claim`` would find something now (a read: takes no lock)."""
    sql, params = queue_sql(PEEK, user_id=user.pk, limit=1, deployment_ids=deployment_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bool(row and row[0])


def claim(
    user: User, worker: Worker, *, limit: int, deployment_ids: Sequence[int] | None = None
) -> list[Claimed]:
    """Lease up to ``limit`` queued requests (at most ``MAX_CLAIM``) to ``worker`` of ``user``.

    Two statements in one transaction, whatever ``limit``: the pick-and-update, and one insert
    of the tokens. Returns the leases in queue order; an empty list when nothing is queued.
    """
    limit = max(1, min(limit, MAX_CLAIM))
    if deployment_ids is not None and not deployment_ids:
        return []
    expire_leases_if_due()
    postgres = connection.vendor == "postgresql"
    template = CLAIM.postgres if postgres else CLAIM.sqlite
    sql, params = queue_sql(template, user_id=user.pk, limit=limit, deployment_ids=deployment_ids)
    for _ in range(3):
        now = timezone.now()
        expires = now + lease_duration()
        times = [db_time(now), db_time(expires)]
        # The SET comes after the picking query on PostgreSQL, before it on SQLite.
        ordered = [*params, *times] if postgres else [*times, *params]
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(sql, ordered)
                    rows = cursor.fetchall()
                if not rows:
                    return []
                claimed, tokens = _leases(rows, expires)
                inserted = insert_tokens(
                    tokens, user_id=user.pk, worker_id=worker.pk, created_at=now, expires_at=expires
                )
                if inserted < len(tokens):
                    raise _VoteTaken
        except _VoteTaken:
            # Two processes of one account raced for the same replicated request: the
            # one-vote constraint skipped the second lease. Roll back and pick again.
            continue
        return claimed
    return []


class _VoteTaken(Exception):
    """Rolls a claim back: the account already holds a vote on one of the picked requests."""


def _leases(
    rows: Sequence[Sequence[Any]], expires: datetime
) -> tuple[list[Claimed], list[dict[str, Any]]]:
    claimed: list[Claimed] = []
    tokens: list[dict[str, Any]] = []
    # RETURNING has no defined order: put the leases back in queue order.
    ordered = sorted(rows, key=lambda row: (-row[5], row[6], row[0]))
    for request_id, attempt, replication, version_id, sha256, _priority, _key in ordered:
        secret = new_secret(TOKEN_PREFIX)
        tokens.append(
            {
                "request_id": request_id,
                "attempt": attempt,
                "token_hash": hash_secret(secret),
                "replicated": replication > 1,
            }
        )
        claimed.append(Claimed(request_id, secret, expires, version_id, sha256))
    return claimed, tokens


def claim_or_wait(
    user: User,
    worker: Worker,
    *,
    limit: int,
    wait: float,
    deployment_ids: Sequence[int] | None = None,
    still_wanted: Callable[[], bool] | None = None,
) -> list[Claimed]:
    """``claim``, and if nothing is queued, long-poll up to ``wait`` seconds (at most 60).

    While waiting, the thread holds no database connection; it re-checks when a submission
    (in any process) announces work, so it answers within moments of work arriving. Before
    each re-check ``still_wanted()`` is asked (is the client still connected?): if not, the
    poll ends with nothing claimed, so no work is leased to a worker that is gone.
    """
    wait = max(0.0, min(wait, MAX_WAIT_SECONDS))
    keys: list[Any] = [notify.ANY] if deployment_ids is None else list(deployment_ids)
    # On SQLite a claim takes the database's write lock even when it finds nothing: idle
    # re-checks first look with a plain read. On PostgreSQL an empty claim is as cheap.
    peek_first = connection.vendor != "postgresql"

    first = True

    def check() -> list[Claimed] | None:
        nonlocal first
        if not first and still_wanted is not None and not still_wanted():
            return []  # ends the wait
        first = False
        expire_leases_if_due()  # expired leases are what a waiting worker may be waiting for
        if peek_first and not has_work(user, deployment_ids=deployment_ids):
            return None
        return claim(user, worker, limit=limit, deployment_ids=deployment_ids) or None

    jobs = notify.wait_for(
        check, waiters=notify.work_waiters, keys=keys, timeout=wait, recheck_seconds=1.0
    )
    return jobs or []


# --- fairness ------------------------------------------------------------------------------------


def next_fair_key(user: User) -> int:
    """The fair key of ``user``'s next request (see the module docstring)."""
    with connection.cursor() as cursor:
        cursor.execute(QUEUE_HEAD)
        head = cursor.fetchone()[0]
        cursor.execute(USER_TAIL, [user.pk])
        tail = cursor.fetchone()[0]
    base = head if head is not None else 0
    if tail is not None:
        base = max(base, tail + 1)
    return int(base)


# --- expiry ---------------------------------------------------------------------------------------

_expiry_lock = threading.Lock()
_next_expiry = 0.0


def expire_leases_if_due() -> int:
    """``expire_leases`` at most a few times per lease period in this process."""
    global _next_expiry
    now = time.monotonic()
    with _expiry_lock:
        if now < _next_expiry:
            return 0
        _next_expiry = now + min(1.0, settings.LEASE_SECONDS / 4)
    return expire_leases()


def expire_leases(*, limit: int = EXPIRE_BATCH) -> int:
    """End leases past their expiry: the request goes back to the queue for another worker,
    or fails once it has used up ``max_attempts``. Returns how many leases ended."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(EXPIRED_LEASES, [db_time(now), limit])
        request_ids = [row[0] for row in cursor.fetchall()]
    if not request_ids:
        return 0
    ledger = Ledger(now=now)
    ended = 0
    with transaction.atomic():
        ledger.requests = lock_requests(request_ids)
        tokens = DispatchToken.objects.filter(
            request_id__in=request_ids, state=TokenState.ACTIVE, expires_at__lt=now
        )
        for token in tokens:
            request = ledger.requests[token.request_id]
            ledger.end_lease(request, token, TokenState.EXPIRED)
            ended += 1
            if request.status not in TERMINAL:
                ledger.record_failure(request, token, "lease expired")
        ledger.save()
    return ended


# --- the worker's calls after a claim --------------------------------------------------------------


def _why_not(
    lease: HoldsLease, token: DispatchToken | None, user: User, now: datetime
) -> str | None:
    """Why ``lease`` cannot be used now (its token read under its request's lock), or None.

    A token that does not exist, belongs to another request, or to another account is
    ``invalid_token``: the three look the same to the caller.
    """
    if token is None or token.request_id != lease.request_id or token.user_id != user.pk:
        return "invalid_token"
    if token.state == TokenState.USED:
        return "already_submitted"
    if token.state != TokenState.ACTIVE or token.expires_at <= now:
        return "lease_lost"
    return None


def heartbeat(user: User, leases: Sequence[HoldsLease]) -> list[Verdict]:
    """Extend each lease ``user`` still holds by ``LEASE_SECONDS`` from now."""
    now = timezone.now()
    expires = now + lease_duration()
    verdicts: list[Verdict] = []
    with transaction.atomic():
        requests, tokens = lock_requests_of_tokens(hash_secret(x.dispatch_token) for x in leases)
        extend: dict[int, DispatchToken] = {}
        for lease in leases:
            token = tokens.get(hash_secret(lease.dispatch_token))
            reason = _why_not(lease, token, user, now)
            if reason is not None or token is None:
                verdicts.append(Verdict(lease.request_id, "rejected", reason))
                continue
            extend[token.pk] = token
            verdicts.append(Verdict(lease.request_id, "extended", None, expires))
        if extend:
            DispatchToken.objects.filter(pk__in=extend).update(expires_at=expires)
            ClassificationRequest.objects.filter(
                pk__in={t.request_id for t in extend.values()} & set(requests)
            ).update(lease_expires_at=expires)
            Worker.objects.filter(pk__in={t.worker_id for t in extend.values()}).update(
                last_seen=now
            )
    return verdicts


def release(user: User, leases: Sequence[HoldsLease]) -> list[Verdict]:
    """Give leases back unused (a worker shutting down): the requests go back to the queue
    at once, and the attempt does not count."""
    ledger = Ledger(now=timezone.now())
    verdicts: list[Verdict] = []
    with transaction.atomic():
        ledger.requests, tokens = lock_requests_of_tokens(
            hash_secret(x.dispatch_token) for x in leases
        )
        for lease in leases:
            token = tokens.get(hash_secret(lease.dispatch_token))
            reason = _why_not(lease, token, user, ledger.now)
            if reason is not None or token is None:
                verdicts.append(Verdict(lease.request_id, "rejected", reason))
                continue
            request = ledger.requests[token.request_id]
            ledger.end_lease(request, token, TokenState.RELEASED)
            request.attempts = max(0, request.attempts - 1)
            if request.status not in TERMINAL:
                ledger.reopen(request)
            verdicts.append(Verdict(lease.request_id, "released"))
        ledger.save()
    return verdicts


def submit_results(user: User, answers: Sequence[Answer]) -> list[Verdict]:
    """Record the answers of ``user``'s leases; per answer ``accepted`` or ``rejected`` + reason.

    An answer is accepted only with the token of a current lease of that request held by
    ``user``; the token is used up, so a repeated answer is ``already_submitted`` and one that
    comes after the lease expired or was handed on is ``lease_lost``. An accepted label
    completes the request (replication 1) or is a vote (see ``quorum``); an accepted error
    sends the request back to the queue, or fails it after ``max_attempts``. A malformed
    answer is ``invalid_result`` and leaves the lease as it was.
    """
    ledger = Ledger(now=timezone.now())
    verdicts: list[Verdict] = []
    with transaction.atomic():
        ledger.requests, tokens = lock_requests_of_tokens(
            hash_secret(a.dispatch_token) for a in answers
        )
        # Open requests always have their version (it cannot be deleted while they wait).
        models = recent.models.get_many(
            r.model_version_id for r in ledger.requests.values() if r.model_version_id is not None
        )
        votes = votes_of([r for r in ledger.requests.values() if r.replication > 1])
        for answer in answers:
            token = tokens.get(hash_secret(answer.dispatch_token))
            reason = _why_not(answer, token, user, ledger.now)
            scores = None
            if reason is None and token is not None:
                request = ledger.requests[token.request_id]
                model = models.get(request.model_version_id) if request.model_version_id else None
                reason, scores = check_answer(
                    answer,
                    model["classes"] if model else [],
                    model.get("task", "classification") if model else "classification",
                )
            if reason is not None or token is None:
                verdicts.append(Verdict(answer.request_id, "rejected", reason))
                continue
            apply_answer(ledger, request, token, answer, scores, votes[request.pk])
            verdicts.append(Verdict(answer.request_id, "accepted"))
        ledger.save()
    return verdicts


# --- cancelling ------------------------------------------------------------------------------------


def cancel(request_ids: Sequence[int]) -> list[int]:
    """Cancel the requests that have not ended; their leases are revoked. Returns those ids."""
    ledger = Ledger(now=timezone.now())
    cancelled: list[int] = []
    with transaction.atomic():
        ledger.requests = lock_requests(request_ids)
        for request in ledger.requests.values():
            if request.status not in TERMINAL:
                ledger.cancel(request)
                cancelled.append(request.pk)
        ledger.save()
    return cancelled
