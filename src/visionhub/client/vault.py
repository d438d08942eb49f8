"""Client methods for the vault (``/vault/secrets``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from visionhub.client.base import BaseClient


def _owner(owner: str | None) -> dict[str, str]:
    return {"owner": owner} if owner else {}


class VaultClient(BaseClient):
    def create_secret(
        self,
        name: str,
        *,
        password: str,
        username: str = "",
        description: str = "",
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a secret; returns its metadata (never the credentials)."""
        body = {
            "name": name,
            "username": username,
            "password": password,
            "description": description,
            "details": details or {},
        }
        result: dict[str, Any] = self.post("/vault/secrets", json=body)
        return result

    def list_secrets(self, *, owner: str | None = None) -> Iterator[dict[str, Any]]:
        """Metadata of every secret in a vault (staff may name another ``owner``)."""
        return self.iterate("/vault/secrets", _owner(owner))

    def get_secret(self, name: str, *, owner: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.get(
            f"/vault/secrets/{quote(name, safe='')}", params=_owner(owner)
        )
        return result

    def update_secret(
        self, name: str, *, owner: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change ``description``, ``details``, ``username`` or ``password``."""
        result: dict[str, Any] = self.patch(
            f"/vault/secrets/{quote(name, safe='')}", params=_owner(owner), json=fields
        )
        return result

    def delete_secret(self, name: str, *, owner: str | None = None) -> None:
        self.delete(f"/vault/secrets/{quote(name, safe='')}", params=_owner(owner))

    def reveal_secret(self, name: str, *, owner: str | None = None) -> dict[str, str]:
        """``{name, username, password}``; the server records the reveal in the audit log."""
        result: dict[str, str] = self.post(
            f"/vault/secrets/{quote(name, safe='')}/reveal", params=_owner(owner)
        )
        return result

    def secret_audit(self, name: str, *, owner: str | None = None) -> Iterator[dict[str, Any]]:
        """Every reveal of a secret, newest first."""
        return self.iterate(f"/vault/secrets/{quote(name, safe='')}/audit", _owner(owner))
