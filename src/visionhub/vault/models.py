"""The vault (seed 003's Treasure Chest): credentials encrypted at rest, and who revealed them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Secret(models.Model):
    """A named pair of credentials owned by one user.

    ``username`` and ``password`` exist only as AES-GCM tokens (see ``crypto.py``), each bound
    to this row and field; ``key_id`` names the key that sealed both, so a key rotation can
    find what is left to re-encrypt. ``description`` and ``details`` are plain metadata.
    """

    # The (owner, name) unique constraint is the index for the owner's lookups.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="vault_secrets",
        db_index=False,
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    username_sealed = models.TextField(editable=False)
    password_sealed = models.TextField(editable=False)
    key_id = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="vault_secret_owner_name")
        ]

    def __str__(self) -> str:
        return self.name


class SecretAccess(models.Model):
    """One reveal of a secret: by whom, when, from where. Written before the value is sent."""

    secret = models.ForeignKey(
        Secret, on_delete=models.CASCADE, related_name="accesses", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    username = models.CharField(max_length=150, help_text="The revealer, kept if they are deleted.")
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        verbose_name_plural = "secret accesses"
        indexes = [models.Index(fields=["secret", "id"], name="vault_access_secret_id")]

    def __str__(self) -> str:
        return f"{self.username} at {self.at:%Y-%m-%d %H:%M:%S}"
