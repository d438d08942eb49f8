"""What the pages of models, trainings, deployments, benchmarks and the vault share."""

from __future__ import annotations

import json
from typing import Any


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON text, for a ``<pre>`` (the template escapes it)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
