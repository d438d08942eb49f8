"""Helpers of the model, training, deployment, benchmark and vault page tests (either ring)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from tests.conftest import Person
from tests.factories import make_brightness_classifier
from tests.helpers import unique
from tests.inference.helpers import CLASSES, INPUT
from tests.web.conftest import csrf_token

ONNX = make_brightness_classifier(8, 8, 1)


def push_model(person: Person, model: str | None = None, **fields: Any) -> str:
    """A version of the brightness classifier pushed by ``person`` (a new model unless
    ``model`` names one of theirs); the model's name. ``fields`` are the push's form fields."""
    if model is None:
        model = unique("brightness")
        body = {"name": model, "classes": CLASSES, "input": INPUT}
        assert person.http.post("/models", json=body).status_code == 201
    data = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in fields.items()}
    files = [("files", ("model.onnx", ONNX, "application/octet-stream"))]
    response = person.http.post(f"/models/{model}/versions", data=data, files=files)
    assert response.status_code == 201, response.text
    return model


def submit_form(
    pages: httpx.Client, form_page: str, action: str, data: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    """POST a page's form as a browser would: with the CSRF token of the page it is on."""
    token = csrf_token(pages, form_page)
    return pages.post(action, data={**(data or {}), "csrfmiddlewaretoken": token}, **kw)
