"""The classification worker (``visionhub worker``): pulls requests over HTTP, runs ONNX models.

It talks to the server only through ``visionhub.client`` and imports no Django, so it runs on
any machine with network access to the server.
"""

from __future__ import annotations
