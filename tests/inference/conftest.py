"""Every test starts with empty per-process caches: rolled-back ids are reused by the next test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from visionhub.inference import recent


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    recent.clear_all()
    yield
    recent.clear_all()
