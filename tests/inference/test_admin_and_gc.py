"""The queue in the admin (read-only pages, the cancel action) and for garbage collection."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.inference.helpers import (
    answer,
    claim,
    fake_sha,
    make_deployment,
    make_user,
    reload,
    submit,
)

from visionhub.inference import queue, services
from visionhub.inference.models import Status


@pytest.mark.parametrize(
    "page", ["classificationrequest", "dispatchtoken", "classificationresult", "worker"]
)
def test_staff_see_the_queue_in_the_admin(db: None, admin_client: Client, page: str) -> None:
    owner = make_user("owner")
    worker = make_user("worker", worker=True)
    submit(make_deployment(owner), owner, 2)
    [job] = claim(worker)
    queue.submit_results(worker, [answer(job, "dark")])

    response = admin_client.get(f"/admin/inference/{page}/")

    assert response.status_code == 200
    assert admin_client.get(f"/admin/inference/{page}/add/").status_code == 403


def test_the_admin_cancel_action_goes_through_the_queue(db: None, admin_client: Client) -> None:
    owner = make_user("owner")
    [request] = submit(make_deployment(owner), owner)

    admin_client.post(
        "/admin/inference/classificationrequest/",
        {"action": "cancel", "_selected_action": [request.pk]},
    )

    assert reload(request.pk).status == Status.CANCELLED


def test_garbage_collection_keeps_the_images_of_requests(db: None) -> None:
    owner = make_user("owner")
    submit(make_deployment(owner), owner, 3)

    assert set(services.referenced_blobs()) >= {fake_sha(0), fake_sha(1), fake_sha(2)}
