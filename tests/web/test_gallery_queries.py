"""A gallery page costs the same number of queries whatever the page, the position, the
filters' depth or the dataset's size (keyset pages, no count, no N+1)."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.db import connection
from django.test import Client
from tests.factories import make_noise_image
from tests.helpers import unique

from visionhub.accounts import services as accounts
from visionhub.accounts.models import User
from visionhub.datasets.models import Dataset
from visionhub.datasets.services import annotations, datasets, images, labels

Committed = Callable[[], AbstractContextManager[None]]


def dataset_of(owner: User, n: int) -> dict[str, Any]:
    dataset = datasets.create_dataset(owner, unique("big"))
    ids = [
        images.add_image(dataset, io.BytesIO(make_noise_image(8, 8, seed=i)), filename=f"{i}.png")[
            0
        ].pk
        for i in range(n)
    ]
    gt = labels.create_label_set(dataset, "gt")
    cat = labels.create_category(dataset, "cat")
    annotations.create_annotations(
        Dataset.objects.get(pk=dataset.pk),
        [
            {"image_id": i, "label_set_id": gt.pk, "category_id": cat.pk, "bbox": [1, 1, 2, 2]}
            for i in ids[::2]
        ],
    )
    return {"id": dataset.pk, "gt": gt.pk, "cat": cat.pk}


class Recorder:
    """Every statement the connection runs (the test client's request_started signal resets
    Django's own query log, so it is not counted from there)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append(sql)
        return execute(sql, params, many, context)


def queries(client: Client, url: str) -> tuple[int, str]:
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert not any(" OFFSET " in sql.upper() for sql in recorder.statements)
    return len(recorder.statements), response.content.decode()


def next_link(html: str) -> str:
    start = html.index('class="pager-next" href="') + len('class="pager-next" href="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


def test_every_gallery_page_costs_the_same_queries(committed: Committed) -> None:
    with committed():
        owner = accounts.create_user(unique("counter"))
        small = dataset_of(owner, 4)
        big = dataset_of(owner, 40)
        client = Client()
        client.force_login(owner)
        base = f"/datasets/{big['id']}/?limit=5"
        first, html = queries(client, base)
        second, html = queries(client, next_link(html))
        third, _ = queries(client, next_link(html))
        jumped, _ = queries(client, f"{base}&position=30")
        tiny, _ = queries(client, f"/datasets/{small['id']}/?limit=5")
        assert first == second == third == jumped == tiny
        assert 4 <= first <= 8  # session, user, dataset, label sets, categories, the page
        # With filters: a few existence checks more, the same on every page.
        filtered = f"/datasets/{big['id']}/?limit=5&label_set={big['gt']}&category={big['cat']}"
        f1, html = queries(client, filtered)
        f2, html = queries(client, next_link(html))
        f3, _ = queries(client, f"{filtered}&position=20")
        assert f1 == f2 == f3 <= first + 2
