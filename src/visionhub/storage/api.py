"""``GET /api/v1/blobs/{sha256}``: downloads through signed, time-limited links (no token)."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router

from visionhub.storage.http import blob_response
from visionhub.storage.signing import verify

router = Router(tags=["blobs"])


@router.get("/blobs/{sha256}", auth=None, url_name="blob-download")
def download_blob(
    request: HttpRequest,
    sha256: str,
    expires: int = 0,
    signature: str = "",
    filename: str | None = None,
) -> HttpResponseBase:
    """Stream a blob to whoever holds a valid link from ``signing.blob_url`` (Range supported).

    A link without its signature is refused like a wrong one: 404, telling nothing.
    """
    verify(sha256, expires, filename, signature)
    return blob_response(request, sha256, filename=filename)
