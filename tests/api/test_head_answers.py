"""An answer to HEAD (a blob's headers; 405 or 404 in the envelope for the rest) goes out
without its body, so the HTTP server never has to drop one (gunicorn logged a warning for
each)."""

from __future__ import annotations

import pytest
from tests.conftest import LiveServer, Person
from tests.inference.helpers import gray_png, upload_images

pytestmark = pytest.mark.process


def test_head_answers_carry_no_body_for_the_server_to_drop(
    server: LiveServer, alice: Person
) -> None:
    _, [image] = upload_images(alice, [gray_png(90, marker=11)])
    for path in ("/health", f"/images/{image}/content", "/no-such-path"):
        head = alice.http.head(path)
        assert head.status_code in (200, 404, 405), head.status_code
        assert head.content == b""
    assert "no-body response" not in server.log()
