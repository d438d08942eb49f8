"""Settings for the test run: a throw-away VISIONHUB_HOME, and PostgreSQL when asked.

``VISIONHUB_TEST_DATABASE_URL`` (postgres://…) selects the PostgreSQL pass; without it the suite
runs on SQLite. pytest-django creates (and drops) a test database next to the configured one;
the live servers that tests start are pointed at that same database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_home = Path(tempfile.mkdtemp(prefix="visionhub-test-"))
atexit.register(shutil.rmtree, _home, True)

os.environ["VISIONHUB_HOME"] = str(_home)
os.environ["VISIONHUB_STORAGE_URL"] = (_home / "blobs").as_uri()
os.environ["VISIONHUB_SECRET_KEY"] = "test-secret-key-not-for-production-0123456789abcdef"
os.environ["VISIONHUB_DATABASE_URL"] = os.environ.get(
    "VISIONHUB_TEST_DATABASE_URL", f"sqlite:///{_home / 'visionhub.sqlite3'}"
)

from visionhub.settings import *  # noqa: E402, F403
from visionhub.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so that server processes started by the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(_home / "test.sqlite3")}
else:
    # One test database per pytest process, so that concurrent runs never drop each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
