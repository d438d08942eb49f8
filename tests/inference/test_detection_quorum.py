"""Detection answers: checked against the model's contract, stored, and voted on by geometry
(honest workers with float noise agree; a worker that shifts its boxes is outvoted)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import unique
from tests.inference.helpers import claim, fake_sha, make_deployment, make_user, reload, submit

from visionhub.accounts.models import User
from visionhub.inference import queue, quorum, services
from visionhub.inference.models import ClassificationResult, Status, Worker
from visionhub.registry.models import Deployment, ModelDefinition, ModelFile, ModelVersion

CLASSES = ["cat", "dog"]
RLE = {"size": [4, 4], "counts": [5, 3, 8]}
TRUTH = [
    {"label": "cat", "score": 0.91, "box": [10.0, 20.0, 100.0, 50.0]},
    {"label": "dog", "score": 0.62, "box": [150.0, 30.0, 40.0, 80.0]},
]


def noisy(detections: list[dict[str, Any]], eps: float = 1e-4) -> list[dict[str, Any]]:
    """The same answer from another CPU: float noise, and the order may differ."""
    return [
        {**d, "score": d["score"] + eps, "box": [v + eps * 10 for v in d["box"]]}
        for d in reversed(detections)
    ]


def shifted(detections: list[dict[str, Any]], dx: float = 15.0) -> list[dict[str, Any]]:
    return [{**d, "box": [d["box"][0] + dx, *d["box"][1:]]} for d in detections]


def make_detector_deployment(
    owner: User, *, replication: int = 1, quorum: int = 1, task: str = "detection", **fields: Any
) -> Deployment:
    definition = ModelDefinition.objects.create(
        owner=owner,
        name=unique("detector"),
        task=task,
        classes=CLASSES,
        input_spec={"width": 32, "height": 32},
        output_spec={"format": "boxes"},
    )
    version = ModelVersion.objects.create(definition=definition, version=1)
    ModelFile.objects.create(version=version, name="model.onnx", sha256="0" * 64, size=1)
    return Deployment.objects.create(
        name=unique("detect"),
        owner=owner,
        model_version=version,
        replication=replication,
        quorum=quorum,
        **fields,
    )


def detect(user: User, detections: list[dict[str, Any]] | None, **kwargs: Any) -> queue.Verdict:
    [job] = claim(user)
    answer = queue.Answer(job.request_id, job.dispatch_token, detections=detections, **kwargs)
    [verdict] = queue.submit_results(user, [answer])
    return verdict


@pytest.fixture
def workers(db: None) -> list[User]:
    return [make_user(f"w{i}", worker=True) for i in range(5)]


def rate(user: User) -> tuple[int, int]:
    row = Worker.objects.filter(owner=user).values_list("votes_compared", "votes_agreed")
    return row[0] if row else (0, 0)


def test_a_detection_answer_completes_an_unreplicated_request(workers: list[User]) -> None:
    owner = make_user("owner")
    request = services.submit_blob(make_detector_deployment(owner), fake_sha(1), by=owner)
    assert detect(workers[0], TRUTH).status == "accepted"
    done = reload(request.pk)
    assert done.status == Status.COMPLETED
    assert done.result == {"label": None, "scores": {}, "detections": TRUTH}


def test_an_empty_list_is_an_answer(workers: list[User]) -> None:
    owner = make_user("owner")
    request = services.submit_blob(make_detector_deployment(owner), fake_sha(1), by=owner)
    assert detect(workers[0], []).status == "accepted"
    assert reload(request.pk).detections == []


@pytest.mark.parametrize(
    ("task", "detections", "extra"),
    [
        ("detection", None, {"label": "cat"}),
        ("detection", [{**TRUTH[0], "label": "horse"}], {}),
        ("detection", [{**TRUTH[0], "score": 1.5}], {}),
        ("detection", [{**TRUTH[0], "box": [0, 0, -1, 5]}], {}),
        ("detection", [{**TRUTH[0], "box": [0, 0, float("nan"), 5]}], {}),
        ("detection", TRUTH, {"label": "cat"}),
        ("detection", [{**TRUTH[0], "mask": RLE}], {}),
        ("segmentation", TRUTH, {}),
        ("segmentation", [{**TRUTH[0], "mask": {"size": [4, 4], "counts": [3]}}], {}),
    ],
)
def test_an_answer_that_breaks_the_contract_is_refused(
    workers: list[User], task: str, detections: Any, extra: dict[str, Any]
) -> None:
    owner = make_user("owner")
    request = services.submit_blob(
        make_detector_deployment(owner, task=task), fake_sha(1), by=owner
    )
    verdict = detect(workers[0], detections, **extra)
    assert (verdict.status, verdict.reason) == ("rejected", "invalid_result")
    assert reload(request.pk).status == Status.ASSIGNED  # the lease stays as it was


def test_a_segmentation_answer_carries_its_masks(workers: list[User]) -> None:
    owner = make_user("owner")
    deployment = make_detector_deployment(owner, task="segmentation")
    request = services.submit_blob(deployment, fake_sha(1), by=owner)
    mask = {"size": [4, 4], "counts": [5, 3, 8]}
    assert detect(workers[0], [{**TRUTH[0], "mask": mask}]).status == "accepted"
    assert reload(request.pk).detections[0]["mask"] == mask


def test_a_classifier_answering_boxes_is_refused(workers: list[User]) -> None:
    owner = make_user("owner")
    submit(make_deployment(owner), owner)
    verdict = detect(workers[0], TRUTH, label="bright")
    assert (verdict.status, verdict.reason) == ("rejected", "invalid_result")


def test_same_detections_matches_one_to_one_by_class_iou_and_score() -> None:
    same = quorum.same_detections
    assert same(TRUTH, noisy(TRUTH), min_iou=0.9, score_tolerance=0.05)
    assert not same(TRUTH, shifted(TRUTH), min_iou=0.9, score_tolerance=0.05)
    assert same(TRUTH, shifted(TRUTH, 2.0), min_iou=0.9, score_tolerance=0.05)
    assert not same(TRUTH, TRUTH[:1], min_iou=0.9, score_tolerance=0.05)
    relabelled = [{**TRUTH[0], "label": "dog"}, TRUTH[1]]
    assert not same(TRUTH, relabelled, min_iou=0.9, score_tolerance=0.05)
    rescored = [{**TRUTH[0], "score": 0.5}, TRUTH[1]]
    assert not same(TRUTH, rescored, min_iou=0.9, score_tolerance=0.05)
    assert same(TRUTH, rescored, min_iou=0.9, score_tolerance=0.5)
    # Two boxes of one class cannot both match the same box.
    twins = [TRUTH[0], {**TRUTH[0], "box": [12.0, 20.0, 100.0, 50.0]}]
    assert not same(twins, [TRUTH[0], TRUTH[0]], min_iou=0.99, score_tolerance=0.05)
    assert same([], [], min_iou=0.9, score_tolerance=0.05)


def test_honest_workers_agree_and_a_worker_shifting_its_boxes_is_outvoted(
    workers: list[User],
) -> None:
    owner = make_user("owner")
    deployment = make_detector_deployment(owner, replication=3, quorum=2)
    request = services.submit_blob(deployment, fake_sha(1), by=owner)
    liar, honest, other = workers[0], workers[1], workers[2]

    assert detect(liar, shifted(TRUTH)).status == "accepted"
    assert detect(honest, TRUTH).status == "accepted"
    assert reload(request.pk).status != Status.COMPLETED  # one against one
    assert detect(other, noisy(TRUTH)).status == "accepted"

    done = reload(request.pk)
    assert done.status == Status.COMPLETED
    assert quorum.same_detections(done.detections, TRUTH, min_iou=0.99, score_tolerance=0.01)
    agreed = dict(
        ClassificationResult.objects.filter(request=request).values_list("user_id", "agreed")
    )
    assert agreed == {liar.pk: False, honest.pk: True, other.pk: True}
    assert (rate(liar), rate(honest), rate(other)) == ((1, 0), (1, 1), (1, 1))


def test_the_iou_threshold_is_the_deployments(workers: list[User]) -> None:
    owner = make_user("owner")
    deployment = make_detector_deployment(owner, replication=2, quorum=2, match_iou=0.5)
    request = services.submit_blob(deployment, fake_sha(1), by=owner)
    detect(workers[0], TRUTH)
    detect(workers[1], shifted(TRUTH, 8.0))  # IoUs 0.85 and 0.67: agree at 0.5, not 0.9
    assert reload(request.pk).status == Status.COMPLETED
    strict = make_detector_deployment(owner, replication=2, quorum=2)
    other = services.submit_blob(strict, fake_sha(2), by=owner)
    detect(workers[2], TRUTH)
    detect(workers[3], shifted(TRUTH, 8.0))
    assert reload(other.pk).status == Status.PENDING  # a third opinion is asked


def test_answers_that_never_agree_end_without_consensus(workers: list[User]) -> None:
    owner = make_user("owner")
    deployment = make_detector_deployment(owner, replication=2, quorum=2)
    request = services.submit_blob(deployment, fake_sha(1), by=owner)
    for i, worker in enumerate(workers[:4]):
        detect(worker, shifted(TRUTH, 30.0 * i))
    done = reload(request.pk)
    assert done.status == Status.FAILED
    assert done.errors[-1]["error"].startswith("no_consensus")


def test_a_late_replica_is_compared_by_geometry(workers: list[User]) -> None:
    owner = make_user("owner")
    deployment = make_detector_deployment(owner, replication=3, quorum=2)
    request = services.submit_blob(deployment, fake_sha(1), by=owner)
    [late] = claim(workers[2])
    detect(workers[0], TRUTH)
    detect(workers[1], noisy(TRUTH))
    assert reload(request.pk).status == Status.COMPLETED
    answer = queue.Answer(late.request_id, late.dispatch_token, detections=shifted(TRUTH))
    assert queue.submit_results(workers[2], [answer])[0].status == "accepted"
    assert rate(workers[2]) == (1, 0)
