"""Blob stores to test against: a folder in ``tmp_path`` and a real moto S3 server.

The moto server is one subprocess per test session (per xdist worker); every test gets a fresh
bucket, and the server's state is reset afterwards so the big-stream tests do not pile up memory.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import httpx
import pytest
from botocore.config import Config
from tests.helpers import free_port, wait_until

from visionhub.storage.base import BlobStore
from visionhub.storage.filesystem import FilesystemStore
from visionhub.storage.s3 import S3Store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a standalone moto S3 server on 127.0.0.1."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"moto server exited early:\n{log_path.read_text()}")
        try:
            return httpx.get(f"{endpoint}/moto-api/", timeout=1, trust_env=False).is_success
        except httpx.HTTPError:
            return False

    try:
        wait_until(answering, timeout=30)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_client(moto_endpoint: str) -> Iterator[S3Client]:
    """A boto3 client for the moto server; moto forgets everything after the test."""
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )
    try:
        yield client
    finally:
        client.close()
        httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=30, trust_env=False)


@pytest.fixture
def s3_bucket(s3_client: S3Client) -> str:
    name = f"blobs-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each contract test runs once per backend."""
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "blobs")
    client: S3Client = request.getfixturevalue("s3_client")
    bucket: str = request.getfixturevalue("s3_bucket")
    return S3Store(bucket, "vh/blobs", client=client)


@pytest.fixture
def leftovers(store: BlobStore) -> Callable[[], list[str]]:
    """Temporary files, temp objects and unfinished multipart uploads the store still holds."""
    return lambda: _leftovers(store)


@pytest.fixture
def visible_files(store: BlobStore) -> Callable[[], list[str]]:
    """Everything a reader could see outside the temp area, whether or not it looks like a key."""
    return lambda: _visible_files(store)


def _leftovers(store: BlobStore) -> list[str]:
    if isinstance(store, FilesystemStore):
        return sorted(path.name for path in store.tmp_dir.iterdir())
    assert isinstance(store, S3Store)
    objects = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.temp_prefix)
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket)
    return sorted(
        [obj["Key"] for obj in objects.get("Contents", [])]
        + [f"upload:{upload['Key']}" for upload in uploads.get("Uploads", [])]
    )


def _visible_files(store: BlobStore) -> list[str]:
    if isinstance(store, FilesystemStore):
        return sorted(
            str(path.relative_to(store.root))
            for path in store.root.rglob("*")
            if path.is_file() and store.tmp_dir not in path.parents
        )
    assert isinstance(store, S3Store)
    objects = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(
        obj["Key"]
        for obj in objects.get("Contents", [])
        if not obj["Key"].startswith(store.temp_prefix)
    )
