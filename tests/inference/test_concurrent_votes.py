"""Concurrent votes: results calls lock the voters' counters in one order (no deadlock), and a
second lease of one account on a replicated request is skipped without a failed statement (no
``duplicate key`` ERROR in PostgreSQL's log for a race the queue expects)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from tests.helpers import wait_until
from tests.inference.helpers import claim, make_deployment, make_user, submit, worker_of

from visionhub.inference.ledger import Ledger, insert_tokens
from visionhub.inference.models import DispatchToken, Worker


def lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        (count,) = cursor.fetchone()
    return int(count)


@pytest.mark.django_db(transaction=True)
def test_two_results_calls_counting_the_same_voters_in_opposite_orders_both_commit() -> None:
    first, second = (worker_of(make_user(name, worker=True)) for name in ("wa", "wb"))
    errors: list[Exception] = []
    held, release = threading.Event(), threading.Event()

    def hold_first_row() -> None:
        with transaction.atomic():
            list(Worker.objects.select_for_update().filter(pk=first.pk))
            held.set()
            release.wait(30)
        connection.close()

    def count_votes(order: Sequence[Worker]) -> None:
        ledger = Ledger(now=timezone.now())
        for voter in order:
            ledger.count_vote(voter.pk, agreed=True)
        try:
            with transaction.atomic():
                ledger.save()
        except OperationalError as exc:
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_row)
    holder.start()
    assert held.wait(30)
    calls = [
        threading.Thread(target=count_votes, args=(order,))
        for order in ([first, second], [second, first])
    ]
    for waiting, call in enumerate(calls, start=1):
        call.start()
        if connection.vendor == "postgresql":
            # Each call queues behind the held row before the next starts (on SQLite the whole
            # database is one lock: calls are serial whatever their order).
            wait_until(lambda n=waiting: lock_waiters() >= n, timeout=30)  # type: ignore[misc]
    release.set()
    for thread in [holder, *calls]:
        thread.join(60)
    assert errors == []
    counts = Worker.objects.filter(pk__in=[first.pk, second.pk]).values_list("votes_compared")
    assert sorted(counts) == [(2,), (2,)]


@pytest.mark.django_db
def test_a_second_lease_of_one_account_on_a_replicated_request_is_skipped_not_an_error() -> None:
    owner, voter = make_user("owner"), make_user("voter", worker=True)
    [request] = submit(make_deployment(owner, replication=3, quorum=2), owner)
    [job] = claim(voter)
    assert job.request_id == request.pk
    now = timezone.now()
    duplicate = {"request_id": request.pk, "attempt": 1, "token_hash": "0" * 64, "replicated": True}
    with transaction.atomic():
        inserted = insert_tokens(
            [duplicate],
            user_id=voter.pk,
            worker_id=worker_of(voter).pk,
            created_at=now,
            expires_at=now,
        )
        # The transaction is still usable: no statement failed.
        assert DispatchToken.objects.filter(request=request, user=voter).count() == 1
    assert inserted == 0
