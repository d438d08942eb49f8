"""The queue's claim: order (priority, then fair between users), leases, expiry and release."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import NamedTuple

import pytest
from django.db import connections
from django.utils import timezone
from tests.inference.helpers import (
    answer,
    claim,
    make_deployment,
    make_user,
    reload,
    submit,
)

from visionhub.accounts.models import User
from visionhub.core.hashing import hash_secret
from visionhub.inference import queue, services
from visionhub.inference.models import ClassificationRequest, DispatchToken, Status
from visionhub.registry.models import Deployment


class Setup(NamedTuple):
    owner: User
    deployment: Deployment
    worker: User


@pytest.fixture
def setup(db: None) -> Setup:
    owner = make_user("owner")
    return Setup(owner, make_deployment(owner), make_user("worker", worker=True))


def test_a_claim_leases_the_oldest_request_with_a_token_stored_only_as_its_hash(
    setup: Setup,
) -> None:
    owner, deployment, worker = setup
    first, second = submit(deployment, owner, 2)

    [job] = claim(worker)

    assert job.request_id == first.pk
    assert job.dispatch_token.startswith("vhd_")
    request = reload(first.pk)
    assert request.status == Status.ASSIGNED
    assert request.attempts == 1
    assert request.assigned_on is not None
    token = DispatchToken.objects.get(request=request)
    assert token.token_hash == hash_secret(job.dispatch_token)
    assert job.dispatch_token not in str(DispatchToken.objects.values().get(pk=token.pk))
    assert reload(second.pk).status == Status.PENDING


def test_each_request_goes_to_one_worker_only(setup: Setup) -> None:
    owner, deployment, worker = setup
    submit(deployment, owner, 5)

    jobs = claim(worker, 3) + claim(worker, 3, name="w2") + claim(worker, 3, name="w3")

    assert len(jobs) == 5
    assert len({j.request_id for j in jobs}) == 5


def test_higher_priority_is_served_first(setup: Setup) -> None:
    owner, deployment, worker = setup
    staff = make_user("staff", staff=True)
    low = submit(deployment, owner, 2, priority=-5)
    normal = submit(deployment, owner, 2)
    urgent = submit(deployment, staff, 1, priority=5)

    order = [j.request_id for j in claim(worker, 10)]

    assert order == [r.pk for r in urgent + normal + low]


def test_one_users_big_batch_does_not_hold_back_another_users_single_request(setup: Setup) -> None:
    owner, deployment, worker = setup
    bob = make_user("bob")
    big = submit(deployment, owner, 300)
    claim(worker, 64)  # the queue is moving when bob arrives
    [single] = submit(deployment, bob, 1)

    next_batch = [j.request_id for j in claim(worker, 64)]

    assert single.pk in next_batch[:2]
    assert len(big) > 64 * 2


def test_users_are_served_in_turns(setup: Setup) -> None:
    owner, deployment, worker = setup
    bob = make_user("bob")
    carol = make_user("carol")
    a = submit(deployment, owner, 3)
    b = submit(deployment, bob, 3)
    c = submit(deployment, carol, 3)

    order = [j.request_id for j in claim(worker, 9)]

    turns = [order[i : i + 3] for i in (0, 3, 6)]
    for i, turn in enumerate(turns):
        assert sorted(turn) == sorted([a[i].pk, b[i].pk, c[i].pk])


def test_a_request_that_comes_back_keeps_its_place_in_line(setup: Setup) -> None:
    owner, deployment, worker = setup
    first, *_ = submit(deployment, owner, 3)
    [job] = claim(worker)
    queue.submit_results(worker, [answer(job, label=None, error="out of memory")])

    [again] = claim(worker)

    assert again.request_id == first.pk


def test_the_claim_takes_at_most_256(setup: Setup) -> None:
    owner, deployment, worker = setup
    submit(deployment, owner, 300)

    assert len(claim(worker, 1000)) == queue.MAX_CLAIM


def test_a_claim_can_be_limited_to_some_deployments(setup: Setup) -> None:
    owner, deployment, worker = setup
    other = make_deployment(owner)
    submit(deployment, owner, 2)
    [wanted] = submit(other, owner, 1)

    jobs = claim(worker, 10, deployment_ids=[other.pk])

    assert [j.request_id for j in jobs] == [wanted.pk]
    assert claim(worker, 10, deployment_ids=[]) == []


def test_an_expired_lease_puts_the_request_back_for_another_worker(setup: Setup) -> None:
    owner, deployment, worker = setup
    other = make_user("worker", worker=True)
    [request] = submit(deployment, owner)
    [lost] = claim(worker)
    DispatchToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert queue.expire_leases() == 1
    assert reload(request.pk).status == Status.PENDING
    [job] = claim(other)

    assert job.request_id == request.pk
    fresh = reload(request.pk)
    assert fresh.attempts == 2
    assert fresh.failures == 1
    assert fresh.errors[0]["error"] == "lease expired"
    assert queue.submit_results(worker, [answer(lost)])[0].reason == "lease_lost"


def test_after_max_attempts_the_request_fails_with_every_error_recorded(setup: Setup) -> None:
    owner, deployment, worker = setup
    [request] = submit(deployment, owner)
    errors = ["cannot decode image", "lease expired", "cannot decode image again"]
    for i, error in enumerate(errors):
        [job] = claim(worker)
        if error == "lease expired":
            DispatchToken.objects.filter(token_hash=hash_secret(job.dispatch_token)).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
            queue.expire_leases()
        else:
            verdicts = queue.submit_results(worker, [answer(job, label=None, error=error)])
            assert verdicts[0].status == "accepted"
        assert reload(request.pk).status == (Status.FAILED if i == 2 else Status.PENDING)

    failed = reload(request.pk)
    assert [e["error"] for e in failed.errors] == errors
    assert [e["attempt"] for e in failed.errors] == [1, 2, 3]
    assert failed.completed_at is not None
    assert claim(worker) == []


def test_a_heartbeat_extends_the_lease(setup: Setup) -> None:
    owner, deployment, worker = setup
    submit(deployment, owner)
    [job] = claim(worker)
    DispatchToken.objects.update(expires_at=timezone.now() + timedelta(seconds=1))

    [verdict] = queue.heartbeat(worker, [queue.LeaseRef(job.request_id, job.dispatch_token)])

    assert verdict.status == "extended"
    assert verdict.lease_expires_at is not None
    assert verdict.lease_expires_at > timezone.now() + timedelta(seconds=30)
    assert DispatchToken.objects.get().expires_at == verdict.lease_expires_at


def test_a_heartbeat_cannot_revive_an_expired_lease(setup: Setup) -> None:
    owner, deployment, worker = setup
    submit(deployment, owner)
    [job] = claim(worker)
    DispatchToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    [verdict] = queue.heartbeat(worker, [queue.LeaseRef(job.request_id, job.dispatch_token)])

    assert (verdict.status, verdict.reason) == ("rejected", "lease_lost")


def test_a_released_lease_goes_back_without_counting_an_attempt(setup: Setup) -> None:
    owner, deployment, worker = setup
    [request] = submit(deployment, owner)
    [job] = claim(worker)
    lease = queue.LeaseRef(job.request_id, job.dispatch_token)

    [verdict] = queue.release(worker, [lease])

    assert verdict.status == "released"
    fresh = reload(request.pk)
    assert (fresh.status, fresh.attempts, fresh.failures) == (Status.PENDING, 0, 0)
    assert queue.submit_results(worker, [answer(job)])[0].reason == "lease_lost"
    assert [j.request_id for j in claim(worker)] == [request.pk]


def test_cancelling_revokes_the_lease(setup: Setup) -> None:
    owner, deployment, worker = setup
    [request] = submit(deployment, owner)
    [job] = claim(worker)

    cancelled = services.cancel_classification(reload(request.pk))

    assert cancelled.status == Status.CANCELLED
    assert queue.submit_results(worker, [answer(job)])[0].reason == "lease_lost"
    assert reload(request.pk).status == Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_hand_out_a_request_twice() -> None:
    owner = make_user("owner")
    deployment = make_deployment(owner)
    workers = [make_user("worker", worker=True) for _ in range(6)]
    submit(deployment, owner, 200)
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(workers))

    def work(user: User) -> None:
        try:
            barrier.wait()
            while jobs := claim(user, 7):
                with lock:
                    taken.extend(j.request_id for j in jobs)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(taken) == 200
    assert len(set(taken)) == 200
    assert ClassificationRequest.objects.filter(status=Status.ASSIGNED).count() == 200
    assert DispatchToken.objects.count() == 200
