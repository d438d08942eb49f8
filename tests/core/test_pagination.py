"""Keyset pagination over several sort keys, ascending and descending."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from visionhub.accounts.models import ApiToken, User
from visionhub.core.errors import Invalid
from visionhub.core.pagination import decode_cursor, encode_cursor, paginate

pytestmark = pytest.mark.django_db


def _tokens() -> list[ApiToken]:
    user = User.objects.create(username="paginated")
    now = timezone.now()
    tokens = [
        ApiToken.objects.create(user=user, name=f"t{i}", prefix="p", key_hash=f"{i:064d}")
        for i in range(25)
    ]
    # several tokens share an expiry, so the second key decides their order
    for i, token in enumerate(tokens):
        token.expires_at = now + timedelta(hours=i % 4)
        token.save()
    return tokens


@pytest.mark.parametrize("order", [("id",), ("-id",), ("expires_at", "id"), ("-expires_at", "-id")])
def test_pages_walk_every_row_once_in_order(order: tuple[str, ...]) -> None:
    _tokens()
    qs = ApiToken.objects.filter(user__username="paginated")
    expected = list(qs.order_by(*order).values_list("id", flat=True))
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        page = paginate(qs, order_by=order, cursor=cursor, limit=4)
        seen.extend(t.id for t in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected


def test_cursors_round_trip_datetimes_and_reject_garbage() -> None:
    now = timezone.now()
    assert decode_cursor(encode_cursor([now, 3]), 2) == [now, 3]
    with pytest.raises(Invalid):
        decode_cursor(encode_cursor([1]), 2)
    with pytest.raises(Invalid):
        decode_cursor("%%%", 1)
