"""The S3 backend (any S3-compatible server): ``<prefix>/<sha[:2]>/<sha>``.

Bodies up to one part (8 MiB) are hashed in memory and written with a single ``PutObject`` under
their final key, which S3 publishes atomically. Larger bodies stream as a multipart upload to
``<prefix>/.tmp/<uuid>`` while being hashed, and once verified are copied server-side to their
final key. Every error, including ``BlobTooLarge`` and ``HashMismatch``, aborts the multipart
upload, so nothing half-written is ever visible.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from django.utils.http import content_disposition_header

from visionhub.storage.base import SHA256_RE, BlobInfo, BlobNotFound, check_key
from visionhub.storage.streaming import ChunkReader, HashingReader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, HeadObjectOutputTypeDef

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
# S3 allows 10,000 parts: growing the part size every 1,000 parts keeps memory bounded by the
# current part while allowing objects up to ~430 GiB.
_PARTS_PER_SIZE_STEP = 1000
# The publishing copy is server-side, so big chunks cost no local memory; below 1 GiB one
# CopyObject request is enough, above it the managed copy switches to UploadPartCopy (needed
# past CopyObject's 5 GiB limit).
_COPY_CONFIG = TransferConfig(multipart_threshold=1024**3, multipart_chunksize=256 * 1024**2)
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_KEY_RE = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{64})$")


def _is_missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _MISSING_CODES


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def make_client(endpoint_url: str | None = None) -> S3Client:
    """A boto3 S3 client; credentials and region come from the usual ``AWS_*`` sources."""
    config = Config(
        signature_version="s3v4",
        # S3-compatible servers (MinIO, Ceph, moto) rarely have wildcard DNS for bucket hosts.
        s3={"addressing_style": "path"} if endpoint_url else None,
        retries={"mode": "standard"},
        # The API server runs many threads; each may be streaming a blob.
        max_pool_connections=64,
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


class S3Store:
    """A ``BlobStore`` in an S3 bucket, under ``prefix``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else make_client(endpoint_url)

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _join(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def key(self, sha256: str) -> str:
        """The object key of a blob (whether or not it exists)."""
        check_key(sha256)
        return self._join(f"{sha256[:2]}/{sha256}")

    @property
    def temp_prefix(self) -> str:
        return self._join(".tmp/")

    def put(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> BlobInfo:
        """See ``BlobStore.put``; memory stays within about two parts whatever the size."""
        reader = HashingReader(source, max_bytes=max_bytes)
        temp_key = self._join(f".tmp/{uuid.uuid4().hex}")
        upload_id: str | None = None
        completed = False
        parts: list[CompletedPartTypeDef] = []
        pending: list[bytes] = []
        pending_size = 0
        try:
            for chunk in reader:
                # Flush only when more data follows, so that a body of exactly one part still
                # takes the single-request path.
                if pending_size >= self._part_size(len(parts)):
                    if upload_id is None:
                        created = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=temp_key
                        )
                        upload_id = created["UploadId"]
                    self._upload_part(temp_key, upload_id, parts, b"".join(pending))
                    pending.clear()
                    pending_size = 0
                pending.append(chunk)
                pending_size += len(chunk)

            reader.verify(expected_sha256)
            info = BlobInfo(reader.sha256, reader.size)
            key = self.key(info.sha256)
            if self._touch(key):
                return info
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=b"".join(pending))
                return info
            if pending:
                self._upload_part(temp_key, upload_id, parts, b"".join(pending))
                pending.clear()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=temp_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
            completed = True
            try:
                self.client.copy(
                    CopySource={"Bucket": self.bucket, "Key": temp_key},
                    Bucket=self.bucket,
                    Key=key,
                    Config=_COPY_CONFIG,
                )
            finally:
                self.client.delete_object(Bucket=self.bucket, Key=temp_key)
            return info
        finally:
            if upload_id is not None and not completed:
                self._abort(temp_key, upload_id)

    @staticmethod
    def _part_size(parts_done: int) -> int:
        return PART_SIZE * (1 + parts_done // _PARTS_PER_SIZE_STEP)

    def _upload_part(
        self, key: str, upload_id: str, parts: list[CompletedPartTypeDef], body: bytes
    ) -> None:
        number = len(parts) + 1
        response = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError:
            # The original error matters more; cleanup_temp() aborts stale uploads later.
            log.warning("could not abort multipart upload %s of %s", upload_id, key, exc_info=True)

    def _touch(self, key: str) -> bool:
        """If ``key`` exists, refresh its LastModified (so gc keeps a blob just re-put) and say so."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        try:
            # Copying an object onto itself is allowed when the metadata is replaced; it is a
            # server-side operation that only bumps the modification time.
            self.client.copy(
                CopySource={"Bucket": self.bucket, "Key": key},
                Bucket=self.bucket,
                Key=key,
                ExtraArgs={"MetadataDirective": "REPLACE"},
                Config=_COPY_CONFIG,
            )
        except ClientError as exc:
            if _is_missing(exc):  # garbage-collected in between: store it afresh
                return False
            raise
        return True

    def open(self, sha256: str) -> BinaryIO:
        """The streaming body of a GetObject; read it and close it."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _is_missing(exc):
                raise BlobNotFound("blob_not_found", "no such blob") from None
            raise
        return cast(BinaryIO, response["Body"])

    def iter_range(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` inclusive with one ranged GetObject, ``end`` clamped to the last byte.

        Raises ``BlobNotFound`` on the call (not on first iteration); an empty range yields nothing.
        """
        if start < 0 or (end is not None and end < 0):
            raise ValueError("range bounds must not be negative")
        key = self.key(sha256)
        if end is not None and end < start:
            self.size(sha256)  # still report a missing blob
            return iter(())
        try:
            if start == 0 and end is None:
                # No Range header: a ranged request on an empty object would be unsatisfiable.
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            else:
                last = "" if end is None else str(end)
                response = self.client.get_object(
                    Bucket=self.bucket, Key=key, Range=f"bytes={start}-{last}"
                )
        except ClientError as exc:
            if _is_missing(exc):
                raise BlobNotFound("blob_not_found", "no such blob") from None
            if _error_code(exc) == "InvalidRange":  # start is past the end
                return iter(())
            raise
        return ChunkReader(response["Body"])

    def exists(self, sha256: str) -> bool:
        if not SHA256_RE.match(sha256):
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def size(self, sha256: str) -> int:
        return self._head(sha256)["ContentLength"]

    def modified_at(self, sha256: str) -> datetime:
        """When the blob was last written (or re-put); raises ``BlobNotFound``."""
        return self._head(sha256)["LastModified"]

    def _head(self, sha256: str) -> HeadObjectOutputTypeDef:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _is_missing(exc):
                raise BlobNotFound("blob_not_found", "no such blob") from None
            raise

    def delete(self, sha256: str) -> None:
        if SHA256_RE.match(sha256):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def presigned_url(self, sha256: str, *, ttl: int, filename: str | None = None) -> str | None:
        """A GetObject URL valid for ``ttl`` seconds; with ``filename``, downloads under that name."""
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self.key(sha256)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition_header(
                as_attachment=True, filename=filename
            )
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)

    def iter_keys(self) -> Iterator[str]:
        """Every published blob; temporary objects and foreign keys under the prefix are skipped."""
        base = self._join("")
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for obj in page.get("Contents", []):
                match = _KEY_RE.match(obj["Key"][len(base) :])
                if match and match[2].startswith(match[1]):
                    yield match[2]

    def cleanup_temp(self, older_than_seconds: float = 3600) -> int:
        """Delete temp objects and abort multipart uploads left by crashed writers.

        Only those older than ``older_than_seconds`` go, so uploads in progress are untouched.
        Returns how many were removed.
        """
        cutoff = datetime.now(tz=UTC) - timedelta(seconds=older_than_seconds)
        removed = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.temp_prefix):
            for obj in page.get("Contents", []):
                if obj["LastModified"] <= cutoff:
                    self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                    removed += 1
        uploads = self.client.get_paginator("list_multipart_uploads")
        for upload_page in uploads.paginate(Bucket=self.bucket, Prefix=self.temp_prefix):
            for upload in upload_page.get("Uploads", []):
                if upload["Initiated"] <= cutoff:
                    self._abort(upload["Key"], upload["UploadId"])
                    removed += 1
        if removed:
            log.info("removed %d abandoned temp objects from s3://%s", removed, self.bucket)
        return removed
