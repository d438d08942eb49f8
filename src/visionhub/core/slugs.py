"""Names that clients use in paths: a slug of a-z, 0-9 and '-'."""

from __future__ import annotations

import re

from visionhub.core.errors import Invalid

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
SLUG_PATTERN = SLUG_RE.pattern


def validate_slug(value: str, *, field: str = "name") -> str:
    """Return ``value`` if it is a valid slug, else raise ``invalid_name`` (422)."""
    if not SLUG_RE.match(value):
        raise Invalid(
            "invalid_name",
            f"{field} must be 1-100 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            details={"field": field, "value": value[:200]},
        )
    return value
