"""Trust: a result counts only with the token of the current lease, from the worker holding it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from tests.inference.helpers import answer, claim, make_deployment, make_user, reload, submit

from visionhub.accounts.models import User
from visionhub.inference import queue
from visionhub.inference.models import ClassificationResult, DispatchToken, Status, Worker
from visionhub.registry.models import Deployment


@pytest.fixture
def deployment(db: None) -> Deployment:
    owner = make_user("owner")
    deployment = make_deployment(owner)
    submit(deployment, owner, 3)
    return deployment


@pytest.fixture
def worker(db: None) -> User:
    return make_user("worker", worker=True)


def test_a_result_with_the_current_token_completes_the_request(
    deployment: Deployment, worker: User
) -> None:
    [job] = claim(worker)

    [verdict] = queue.submit_results(
        worker, [answer(job, "dark", scores={"dark": 0.9, "bright": 0.1})]
    )

    assert (verdict.request_id, verdict.status, verdict.reason) == (
        job.request_id,
        "accepted",
        None,
    )
    request = reload(job.request_id)
    assert request.status == Status.COMPLETED
    assert request.result == {"label": "dark", "scores": {"dark": 0.9, "bright": 0.1}}
    [result] = ClassificationResult.objects.filter(request=request)
    assert result.accepted
    assert Worker.objects.get(owner=worker).jobs_done == 1


def test_scores_may_be_a_list_in_class_order(deployment: Deployment, worker: User) -> None:
    [job] = claim(worker)

    queue.submit_results(worker, [answer(job, "bright", scores=[0.25, 0.75])])

    assert reload(job.request_id).scores == {"dark": 0.25, "bright": 0.75}


def test_a_forged_token_is_rejected(deployment: Deployment, worker: User) -> None:
    [job] = claim(worker)

    [verdict] = queue.submit_results(
        worker, [queue.Answer(job.request_id, "vhd_forged-token-of-the-right-shape", "bright")]
    )

    assert (verdict.status, verdict.reason) == ("rejected", "invalid_token")
    assert reload(job.request_id).status == Status.ASSIGNED


def test_a_reused_token_is_rejected_and_changes_nothing(
    deployment: Deployment, worker: User
) -> None:
    [job] = claim(worker)
    queue.submit_results(worker, [answer(job, "dark")])

    [verdict] = queue.submit_results(worker, [answer(job, "bright")])

    assert (verdict.status, verdict.reason) == ("rejected", "already_submitted")
    assert reload(job.request_id).label == "dark"
    assert ClassificationResult.objects.filter(request_id=job.request_id).count() == 1


def test_the_same_token_twice_in_one_call_counts_once(deployment: Deployment, worker: User) -> None:
    [job] = claim(worker)

    verdicts = queue.submit_results(worker, [answer(job, "dark"), answer(job, "bright")])

    assert [(v.status, v.reason) for v in verdicts] == [
        ("accepted", None),
        ("rejected", "already_submitted"),
    ]
    assert reload(job.request_id).label == "dark"


def test_another_workers_token_is_rejected(deployment: Deployment, worker: User) -> None:
    thief = make_user("thief", worker=True)
    [job] = claim(worker)

    [verdict] = queue.submit_results(thief, [answer(job, "bright")])

    assert (verdict.status, verdict.reason) == ("rejected", "invalid_token")
    assert reload(job.request_id).status == Status.ASSIGNED
    assert queue.heartbeat(thief, [queue.LeaseRef(job.request_id, job.dispatch_token)])[
        0
    ].reason == ("invalid_token")
    assert queue.release(thief, [queue.LeaseRef(job.request_id, job.dispatch_token)])[0].reason == (
        "invalid_token"
    )


def test_a_token_of_another_request_is_rejected(deployment: Deployment, worker: User) -> None:
    first, second = claim(worker, 2)

    [verdict] = queue.submit_results(
        worker, [queue.Answer(second.request_id, first.dispatch_token, "bright")]
    )

    assert (verdict.status, verdict.reason) == ("rejected", "invalid_token")


def test_a_late_token_is_rejected_once_the_lease_moved_on(
    deployment: Deployment, worker: User
) -> None:
    [late] = claim(worker)
    DispatchToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    queue.expire_leases()
    [current] = claim(make_user("other", worker=True), 3)[:1]
    assert current.request_id == late.request_id

    [verdict] = queue.submit_results(worker, [answer(late, "bright")])

    assert (verdict.status, verdict.reason) == ("rejected", "lease_lost")
    assert reload(late.request_id).status == Status.ASSIGNED


def test_a_token_past_its_expiry_is_rejected_even_before_expiry_runs(
    deployment: Deployment, worker: User
) -> None:
    [job] = claim(worker)
    DispatchToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    [verdict] = queue.submit_results(worker, [answer(job, "bright")])

    assert (verdict.status, verdict.reason) == ("rejected", "lease_lost")


@pytest.mark.parametrize(
    "bad",
    [
        queue.Answer(0, "", label="cat"),
        queue.Answer(0, "", label=None),
        queue.Answer(0, "", label="bright", error="and also an error"),
        queue.Answer(0, "", label="bright", scores={"unicorn": 1.0}),
        queue.Answer(0, "", label="bright", scores=[1.0]),
        queue.Answer(0, "", label="bright", scores={"bright": float("nan")}),
        queue.Answer(0, "", label=None, error="  "),
    ],
)
def test_a_malformed_result_is_rejected_and_the_lease_kept(
    deployment: Deployment, worker: User, bad: queue.Answer
) -> None:
    [job] = claim(worker)
    malformed = queue.Answer(job.request_id, job.dispatch_token, bad.label, bad.scores, bad.error)

    [verdict] = queue.submit_results(worker, [malformed])

    assert (verdict.status, verdict.reason) == ("rejected", "invalid_result")
    assert queue.submit_results(worker, [answer(job, "bright")])[0].status == "accepted"


def test_verdicts_come_back_in_the_order_of_the_results(
    deployment: Deployment, worker: User
) -> None:
    jobs = claim(worker, 3)
    answers = [
        queue.Answer(jobs[0].request_id, "vhd_nope", "bright"),
        answer(jobs[1], "dark"),
        answer(jobs[2], None, error="boom"),
    ]

    verdicts = queue.submit_results(worker, answers)

    assert [(v.request_id, v.status) for v in verdicts] == [
        (jobs[0].request_id, "rejected"),
        (jobs[1].request_id, "accepted"),
        (jobs[2].request_id, "accepted"),
    ]
    assert reload(jobs[2].request_id).status == Status.PENDING
    worker_row = Worker.objects.get(owner=worker)
    assert (worker_row.jobs_done, worker_row.jobs_failed) == (1, 1)
