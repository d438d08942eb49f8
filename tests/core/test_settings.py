"""Settings come from VISIONHUB_* variables and fail loudly on bad values."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from visionhub.settings import env_bool, env_int, env_list, env_secret


def test_typed_helpers_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VH_T_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="VH_T_INT"):
        env_int("VH_T_INT", 1)
    monkeypatch.setenv("VH_T_INT", "-3")
    with pytest.raises(ImproperlyConfigured):
        env_int("VH_T_INT", 1, minimum=0)
    monkeypatch.setenv("VH_T_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("VH_T_BOOL", False)
    monkeypatch.setenv("VH_T_BOOL", "yes")
    assert env_bool("VH_T_BOOL", False) is True
    monkeypatch.setenv("VH_T_LIST", "a, b,,c")
    assert env_list("VH_T_LIST", []) == ["a", "b", "c"]


def test_secrets_may_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("from-a-file\n")
    monkeypatch.delenv("VH_T_SECRET", raising=False)
    monkeypatch.setenv("VH_T_SECRET_FILE", str(secret_file))
    assert env_secret("VH_T_SECRET") == "from-a-file"


def _settings_in(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VISIONHUB_") and k != "DJANGO_SETTINGS_MODULE"
    }
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE']='visionhub.settings';"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']); print(s.STORAGE_URL); print(s.SECRET_KEY)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "VISIONHUB_HOME": str(home), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_defaults_live_in_the_home_and_the_secret_key_is_generated_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _settings_in(home)
    assert first.returncode == 0, first.stderr
    engine, storage, key = first.stdout.split()
    assert engine.endswith("sqlite3")
    assert storage == (home / "blobs").as_uri()
    key_file = home / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == key
    again = _settings_in(home)
    assert again.stdout.split()[2] == key


def test_a_bad_database_url_fails_loudly(tmp_path: Path) -> None:
    result = _settings_in(tmp_path, VISIONHUB_DATABASE_URL="mysql://x@y/z")
    assert result.returncode != 0
    assert "VISIONHUB_DATABASE_URL" in result.stderr
    result = _settings_in(tmp_path, VISIONHUB_STORAGE_URL="ftp://nope")
    assert "VISIONHUB_STORAGE_URL" in result.stderr
