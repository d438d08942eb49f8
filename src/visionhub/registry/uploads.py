"""Receiving the files of a model version: streamed to temp files, hashed and size-checked.

``SpecUploadHandler`` replaces Django's upload handlers for one request. Each multipart part is
written to a temporary file in ``FILE_UPLOAD_TEMP_DIR`` as it arrives (64 KiB at a time) while
its sha256 is computed, and the upload is stopped as soon as a part is not one the model declares
or grows past its file spec's ``max_mb``: a 300 MB file never sits in memory, and an oversized
one is cut off where it crosses the limit. The handler must be installed before anything reads
``request.POST`` or ``request.FILES`` (ninja only parses them for declared form/file params, so
the view that calls ``receive_files`` declares none).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, QueryDict

from visionhub.core.errors import Invalid
from visionhub.registry.services.versions import IncomingFile, too_large


@dataclass
class _Part:
    name: str
    file: IO[bytes]
    limit: int | None
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)

    def incoming(self) -> IncomingFile:
        path = self.file.name

        def reopen() -> BinaryIO:
            return Path(path).open("rb")

        return IncomingFile(self.name, self.digest.hexdigest(), self.size, reopen)


class SpecUploadHandler(FileUploadHandler):
    """Accepts only parts of field ``field_name`` whose file names ``limits`` lists."""

    chunk_size = 64 * 1024

    def __init__(
        self, request: HttpRequest, limits: Mapping[str, int | None], field_name: str = "files"
    ) -> None:
        super().__init__(request)
        self.limits = dict(limits)
        self.field_name_expected = field_name
        self.parts: dict[str, _Part] = {}
        self.current: _Part | None = None

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, bytes] | None = None,
    ) -> None:
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        if field_name != self.field_name_expected:
            raise Invalid(
                "unexpected_file_field",
                f"files are sent as parts named {self.field_name_expected!r}, not {field_name!r}",
            )
        if file_name not in self.limits:
            raise Invalid(
                "unknown_file",
                f"this model declares no file {file_name!r}",
                details={"unknown": [file_name], "expected": sorted(self.limits)},
            )
        if file_name in self.parts:
            raise Invalid("duplicate_file", f"file {file_name!r} was sent twice")
        spool = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed by close_all)
            prefix="model-", suffix=".part", dir=settings.FILE_UPLOAD_TEMP_DIR
        )
        self.current = _Part(file_name, spool, self.limits[file_name])
        self.parts[file_name] = self.current

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        part = self.current
        assert part is not None
        part.size += len(raw_data)
        if part.limit is not None and part.size > part.limit:
            raise too_large(part.name, part.limit)
        part.digest.update(raw_data)
        part.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> None:
        if self.current is not None:
            self.current.file.flush()
            self.current = None
        return None  # kept in self.parts, not in request.FILES

    def close_all(self) -> None:
        for part in self.parts.values():
            part.file.close()  # NamedTemporaryFile: closing deletes it
        self.parts.clear()


@dataclass(frozen=True)
class Received:
    files: list[IncomingFile]
    fields: QueryDict


@contextmanager
def receive_files(
    request: HttpRequest, limits: Mapping[str, int | None], field_name: str = "files"
) -> Iterator[Received]:
    """Parse ``request``'s multipart body with ``SpecUploadHandler``; yield files and fields.

    The temporary files live until the block ends (whatever the outcome).
    """
    handler = SpecUploadHandler(request, limits, field_name)
    request.upload_handlers = [handler]
    try:
        content_type = request.content_type or ""
        if request.method == "POST" and content_type.startswith("multipart/"):
            # A malformed body raises MultiPartParserError: the API's one handler answers 400.
            fields = request.POST
            # Anything under another field name was refused by the handler; ``request.FILES``
            # is empty by construction.
        else:
            fields = QueryDict()
        yield Received([part.incoming() for part in handler.parts.values()], fields)
    finally:
        handler.close_all()
