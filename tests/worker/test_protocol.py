"""Parsing the worker protocol (PRODUCT.md section 5): strict on jobs, lenient on answers."""

from __future__ import annotations

from typing import Any

import pytest

from visionhub.worker.protocol import (
    Failure,
    InputSpec,
    Job,
    Lease,
    ProtocolError,
    Success,
    parse_jobs,
    parse_verdicts,
)

SHA_A = "a" * 64
SHA_B = "b" * 64


def job_json(**overrides: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "request_id": 41,
        "dispatch_token": "dt_secret",
        "lease_expires_at": "2030-01-01T00:01:00Z",
        "model": {
            "version_id": 3,
            "input": {"width": 8, "height": 6, "channels": 1, "layout": "flat"},
            "classes": ["dark", "bright"],
            "files": [
                {"name": "README.md", "sha256": SHA_B, "url": "http://s/readme"},
                {"name": "model.onnx", "sha256": SHA_A, "url": "http://s/model"},
            ],
        },
        "image": {"sha256": SHA_B, "url": "http://s/image"},
    }
    job.update(overrides)
    return job


def test_a_claim_answer_becomes_typed_jobs() -> None:
    (job,) = parse_jobs({"jobs": [job_json()]})
    assert job.request_id == 41
    assert job.lease == Lease(41, "dt_secret")
    assert job.lease_expires_at is not None and job.lease_expires_at.year == 2030
    assert job.model.onnx_file.url == "http://s/model"
    assert job.model.input.tensor_shape == (48,)
    assert job.model.input.mean == (0.0,)
    assert job.image.url == "http://s/image"


def test_jobs_of_one_model_share_its_parsed_form_and_other_versions_do_not() -> None:
    other = job_json()["model"] | {"version_id": 4}
    first, second, third = parse_jobs(
        {"jobs": [job_json(), job_json(request_id=42), job_json(request_id=43, model=other)]}
    )
    assert first.model is second.model
    assert third.model is not first.model
    assert third.model.version_id == 4
    assert first.model.version_id == 3


def test_a_sha256_must_be_64_hex_digits() -> None:
    for bad in ("a" * 63, "g" * 64, "a" * 65, "a" * 63 + "\n"):
        with pytest.raises(ProtocolError):
            parse_jobs({"jobs": [job_json(image={"sha256": bad, "url": "http://s/image"})]})
    (job,) = parse_jobs({"jobs": [job_json(image={"sha256": "A" * 64, "url": "http://s/i"})]})
    assert job.image.sha256 == "a" * 64


def test_the_onnx_file_is_model_onnx_else_the_first_onnx() -> None:
    files = [
        {"name": "a.txt", "sha256": SHA_A, "url": "u1"},
        {"name": "first.onnx", "sha256": SHA_A, "url": "u2"},
        {"name": "second.onnx", "sha256": SHA_A, "url": "u3"},
    ]
    model = {**job_json()["model"], "files": files}
    assert Job.from_json(job_json(model=model)).model.onnx_file.name == "first.onnx"
    with pytest.raises(ProtocolError, match=r"no \.onnx"):
        Job.from_json(job_json(model={**model, "files": files[:1]}))


@pytest.mark.parametrize(
    "broken",
    [
        {"dispatch_token": None},
        {"request_id": None},
        {"image": {"url": "http://s/i"}},
        {"image": {"sha256": "not-a-hash", "url": "u"}},
        {"model": {"version_id": 1}},
    ],
)
def test_a_job_missing_what_the_worker_needs_is_a_protocol_error(broken: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        Job.from_json(job_json(**broken))


@pytest.mark.parametrize(
    "raw",
    [
        {"width": 0, "height": 2},
        {"width": 2, "height": 2, "channels": 2},
        {"width": 2, "height": 2, "layout": "CHW"},
        {"width": 2, "height": 2, "std": [1, 0, 1]},
        {"width": 2, "height": 2, "channels": 3, "mean": [0.5, 0.5]},
    ],
)
def test_an_impossible_input_spec_is_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        InputSpec.from_json(raw)


def test_results_serialise_as_the_protocol_says() -> None:
    lease = Lease(5, "tok")
    assert Success(lease, "cat", {"cat": 0.9, "dog": 0.1}).to_json() == {
        "request_id": 5,
        "dispatch_token": "tok",
        "label": "cat",
        "scores": {"cat": 0.9, "dog": 0.1},
    }
    assert Failure(lease, "invalid_image: truncated").to_json() == {
        "request_id": 5,
        "dispatch_token": "tok",
        "error": "invalid_image: truncated",
    }


@pytest.mark.parametrize(
    "answer",
    [
        {
            "results": [
                {"request_id": 1, "status": "accepted"},
                {"request_id": 2, "status": "rejected", "reason": "lease_lost"},
            ]
        },
        {
            "leases": [
                {"request_id": 1, "ok": True},
                {"request_id": 2, "ok": False, "reason": "lease_lost"},
            ]
        },
        [
            {"request_id": 1, "accepted": True},
            {"request_id": 2, "accepted": False, "code": "lease_lost"},
        ],
        {"items": [{"request_id": "1", "state": "ok"}, {"request_id": "2", "state": "lease_lost"}]},
        {"ok": [1], "lost": [2]},
    ],
)
def test_answers_about_leases_and_results_are_read_in_any_reasonable_shape(answer: Any) -> None:
    verdicts = parse_verdicts(answer)
    first, second = verdicts.get(1), verdicts.get(2)
    assert first is not None and first.ok
    assert second is not None and not second.ok
    assert second.reason in ("lease_lost", "lost")


@pytest.mark.parametrize("answer", [None, "ok", 3, {"results": "x"}, [1, 2, None]])
def test_an_unreadable_answer_is_no_verdict_rather_than_a_crash(answer: Any) -> None:
    assert parse_verdicts(answer).get(1) is None
