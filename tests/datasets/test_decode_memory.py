"""Huge images decode with bounded memory: several 100-megapixel PNGs uploaded at once (a few
hundred kB each) cost the server about what one costs, not one decode each."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image as PILImage
from tests.conftest import LiveServer, Person
from tests.helpers import unique

pytestmark = pytest.mark.process

AT_ONCE = 4


def huge_png() -> bytes:
    """10000x10000 RGB, at the default 100-megapixel limit, compressed to a few hundred kB."""
    buffer = io.BytesIO()
    PILImage.new("RGB", (10_000, 10_000), (200, 30, 90)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def peak_kb(server: LiveServer) -> int:
    """The high-water mark of the resident memory of the server's (one) web worker: the child
    forked from the master (same command line; task workers are commands of their own)."""
    assert server.process is not None
    master = server.process.pid
    command = Path(f"/proc/{master}/cmdline").read_bytes()
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    [worker] = [pid for pid in children if Path(f"/proc/{pid}/cmdline").read_bytes() == command]
    status = Path(f"/proc/{worker}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    assert match is not None
    return int(match[1])


def test_several_huge_pngs_at_once_cost_about_one_decode(server: LiveServer, alice: Person) -> None:
    content = huge_png()

    def upload(i: int) -> int:
        # A dataset each: the same bytes in one dataset would be found, not decoded again.
        dataset = alice.http.post("/datasets", json={"name": unique("huge")}).json()["id"]
        files = {"file": (f"huge-{i}.png", content, "image/png")}
        return alice.http.post(f"/datasets/{dataset}/images", files=files).status_code

    before = peak_kb(server)
    assert upload(0) == 201
    one = peak_kb(server) - before
    with ThreadPoolExecutor(AT_ONCE) as pool:
        statuses = list(pool.map(upload, range(1, AT_ONCE + 1)))
    assert statuses == [201] * AT_ONCE
    several = peak_kb(server) - before
    assert several < 1.5 * one, (one, several)
