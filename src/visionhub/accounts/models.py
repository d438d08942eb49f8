"""Accounts: users, their OIDC identities, and API tokens (stored only as hashes)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """Django's user (unique username) plus the right to claim classification work.

    Banning sets ``is_active`` to False and deletes every token (seed 004 ``ban_user``).
    """

    is_worker = models.BooleanField(
        default=False, help_text="May claim classification work as a worker."
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class Identity(models.Model):
    """An OIDC identity (issuer + subject) that signs in as ``user``; a user may have several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_issuer_subject")
        ]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"


class ApiToken(models.Model):
    """A bearer token. Only the SHA-256 of the secret is kept; ``prefix`` helps people tell
    their tokens apart without revealing them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_session = models.BooleanField(
        default=False, help_text="Issued by /auth/login; refreshable and revoked by logout."
    )

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="apitoken_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginFailure(models.Model):
    """One failed password sign-in, kept for the throttle's window (see ``services``).

    In the database rather than a per-process cache, so that every server behind a load
    balancer counts the same failures.
    """

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=45, blank=True, help_text="The client's IP address.")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "created_at"], name="loginfailure_username"),
            models.Index(fields=["address", "created_at"], name="loginfailure_address"),
            models.Index(fields=["created_at"], name="loginfailure_created"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.address} {self.created_at}"
