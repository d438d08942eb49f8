"""Serving a blob over HTTP: streamed, with single byte ranges and ETag revalidation."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from visionhub.storage.base import InvalidRange, check_key
from visionhub.storage.factory import get_store

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` asked for by a ``Range`` header, or ``None`` for the whole body.

    Malformed and multi-range headers are ignored (the whole body is a valid answer, RFC 9110
    §14.2); a well-formed range that lies wholly past the end raises ``InvalidRange``.
    """
    if not header or "," in header:
        return None
    match = _RANGE_RE.match(header.replace(" ", ""))
    if match is None or match[0] == "bytes=-":
        return None
    first, last = match[1], match[2]
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if end < start and last:
        return None
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, min(end, size - 1)


def _unsatisfiable(header: str, size: int) -> InvalidRange:
    return InvalidRange(
        message="the requested range is outside the blob",
        details={"range": header, "size": size},
    )


def _matches(header: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires."""
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


def blob_response(
    request: HttpRequest,
    sha256: str,
    *,
    content_type: str = "application/octet-stream",
    filename: str | None = None,
) -> HttpResponseBase:
    """Stream blob ``sha256`` as the answer to ``request``.

    Whole body (200) or one byte range (206, with ``Content-Range``); ``If-None-Match`` with the
    blob's ETag (its quoted sha256) gives 304. Raises ``BlobNotFound`` and ``InvalidRange`` (416).
    The body is never held in memory: it is read from the store chunk by chunk as it is sent.
    """
    store = get_store()
    check_key(sha256)
    size = store.size(sha256)
    etag = f'"{sha256}"'

    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _matches(if_none_match, etag):
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        return not_modified

    byte_range = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if byte_range is not None and if_range is not None and if_range.strip() != etag:
        # The client's partial copy is of something else (or dated): send it all afresh.
        byte_range = None
    start, end = byte_range if byte_range is not None else (0, size - 1)
    length = end - start + 1

    response: HttpResponseBase
    if request.method == "HEAD" or length == 0:
        response = HttpResponse(content_type=content_type)
    else:
        response = StreamingHttpResponse(
            store.iter_range(sha256, start, end), content_type=content_type
        )
    if byte_range is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    if filename:
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=filename
        )
    return response
