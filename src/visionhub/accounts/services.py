"""Every state change of accounts: users, bans, tokens. API, CLI and admin all call these."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from visionhub.accounts.models import ApiToken, Identity, LoginFailure, User
from visionhub.core.errors import Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized
from visionhub.core.hashing import hash_secret, new_secret

TOKEN_PREFIX = "vh_"  # noqa: S105  (a public prefix, not a secret)
# Writing last_used_at on every request would turn every read into a write; once a minute is
# enough to answer "is this token still in use?".
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: ``secret`` is the only time the plain value exists."""

    token: ApiToken
    secret: str


def create_user(
    username: str,
    *,
    password: str | None = None,
    email: str = "",
    staff: bool = False,
    worker: bool = False,
) -> User:
    """Create a user; ``username`` must be new. Without a password the user can only use tokens."""
    username = username.strip()
    if not username or len(username) > 150:
        raise Invalid("invalid_username", "username must be 1-150 characters")
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict("username_taken", f"user {username!r} already exists")
        user = User(username=username, email=email, is_staff=staff, is_superuser=staff)
        user.is_worker = worker
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user


def set_worker(user: User, worker: bool) -> User:
    """Grant or withdraw the right to claim classification work."""
    user.is_worker = worker
    user.save(update_fields=["is_worker"])
    return user


def ban_user(user: User) -> User:
    """Deactivate ``user`` and delete all their tokens: every token fails at once."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        ApiToken.objects.filter(user=user).delete()
    return user


def unban_user(user: User) -> User:
    """Reactivate ``user``. Old tokens stay deleted; they must sign in again."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


def issue_token(
    user: User,
    *,
    name: str = "default",
    expires_in: timedelta | None = None,
    is_session: bool = False,
) -> IssuedToken:
    """Create an API token for an active user and return its secret, shown only this once."""
    if not user.is_active:
        raise Invalid("user_banned", "cannot issue a token to a banned user")
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "default",
        prefix=secret[:10],
        key_hash=hash_secret(secret),
        expires_at=timezone.now() + expires_in if expires_in else None,
        is_session=is_session,
    )
    return IssuedToken(token=token, secret=secret)


def token_user(secret: str) -> tuple[User, ApiToken] | None:
    """The active user and token behind ``secret``, or None if unknown, expired or banned."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_secret(secret)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def _throttle(username: str, address: str) -> None:
    """429 while ``username``, or ``address``, has failed too often within the window."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    recent = LoginFailure.objects.filter(created_at__gte=since)
    too_many = recent.filter(username=username).count() >= settings.LOGIN_MAX_FAILURES or (
        address and recent.filter(address=address).count() >= 4 * settings.LOGIN_MAX_FAILURES
    )
    if too_many:
        minutes = settings.LOGIN_FAILURE_WINDOW // 60
        raise TooManyRequests(
            "too_many_login_failures",
            f"too many failed sign-ins: try again in {minutes} minutes",
            details={"retry_after": settings.LOGIN_FAILURE_WINDOW},
        )


def check_password(username: str, password: str, *, address: str = "") -> User:
    """The active user with this username and password, for every password sign-in.

    Unknown user, wrong password and banned user get the same 401 ``invalid_credentials``;
    each failure is recorded, and after ``LOGIN_MAX_FAILURES`` of them within
    ``LOGIN_FAILURE_WINDOW`` for the username (or four times as many from ``address``) every
    try, even a right one, gets 429 ``too_many_login_failures`` until the window has passed.
    """
    username = username.strip()[:150]
    _throttle(username, address)
    user = authenticate(username=username, password=password)
    if not isinstance(user, User) or not user.is_active:
        now = timezone.now()
        LoginFailure.objects.filter(
            created_at__lt=now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
        ).delete()
        LoginFailure.objects.create(username=username, address=address[:45], created_at=now)
        raise Unauthorized("invalid_credentials", "wrong username or password")
    return user


def login(username: str, password: str, *, address: str = "") -> IssuedToken:
    """Check a password (throttled, see ``check_password``) and issue a session token."""
    user = check_password(username, password, address=address)
    return issue_token(
        user,
        name="login",
        expires_in=timedelta(hours=settings.API_TOKEN_LOGIN_HOURS),
        is_session=True,
    )


def logout(token: ApiToken) -> None:
    """Revoke the token used for this request."""
    ApiToken.objects.filter(pk=token.pk).delete()


def refresh(token: ApiToken) -> datetime | None:
    """Extend a session token's expiry (seed 004 ``refresh_token``); other tokens keep theirs."""
    if token.is_session:
        token.expires_at = timezone.now() + timedelta(hours=settings.API_TOKEN_LOGIN_HOURS)
        token.save(update_fields=["expires_at"])
    return token.expires_at


def revoke_token(token: ApiToken) -> None:
    token.delete()


def get_or_create_oidc_user(issuer: str, subject: str, email: str = "") -> User:
    """The user behind an OIDC identity, created on first sign-in from iss, sub and email."""
    with transaction.atomic():
        identity = (
            Identity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        )
        if identity is not None:
            if email and identity.email != email:
                identity.email = email
            identity.last_login = timezone.now()
            identity.save(update_fields=["email", "last_login"])
            return identity.user
        base = (email.split("@")[0] if email else f"oidc-{subject}")[:120] or "oidc-user"
        username = base
        suffix = 1
        while User.objects.filter(username=username).exists():
            suffix += 1
            username = f"{base}-{suffix}"
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.save()
        Identity.objects.create(
            user=user, issuer=issuer, subject=subject, email=email, last_login=timezone.now()
        )
        return user


# --- people: deleting, passwords ----------------------------------------------------------

# The apps whose rows a user *owns* (``owner``): their datasets, models, projects, trainings,
# deployments, secrets and label projects. Named, not imported: accounts sit below them.
OWNING_APPS = ("datasets", "registry", "vault", "labeling")
RESET_PASSWORD_BYTES = 18  # 24 URL-safe characters


def owned_objects(user: User) -> dict[str, int]:
    """What ``user`` owns, by kind (``"datasets.dataset": 2``): every row of the owning apps
    whose ``owner`` is the user."""
    found: dict[str, int] = {}
    for relation in User._meta.related_objects:
        model = relation.related_model
        if relation.field.name != "owner" or model._meta.app_label not in OWNING_APPS:
            continue
        count = model._default_manager.filter(owner=user).count()
        if count:
            found[model._meta.label_lower] = count
    return found


def delete_user(user: User, *, by: User | None) -> None:
    """Delete ``user`` for good (staff only; 403 ``admin_only``; never oneself: 409
    ``cannot_delete_self``; ``by`` None is the server's own command line).

    Refused with 409 ``user_owns_objects`` while the user owns anything (``owned_objects``:
    ``details.owned`` counts them by kind): an administrator deletes those, or their owner
    does, first; nothing is transferred silently. What goes with the user: their tokens,
    identities, memberships, roles, worker records and classification requests. What stays:
    benchmark resources and model versions they uploaded (uploader left empty).
    """
    if by is not None and not by.is_staff:
        raise Forbidden("admin_only", "only administrators delete users")
    if by is not None and user.pk == by.pk:
        raise Conflict("cannot_delete_self", "an administrator cannot delete their own account")
    with transaction.atomic():
        owned = owned_objects(user)
        if owned:
            listed = ", ".join(f"{count} {kind}" for kind, count in owned.items())
            raise Conflict(
                "user_owns_objects",
                f"{user.username} still owns {listed}: delete them first",
                details={"owned": owned},
            )
        try:
            user.delete()
        except ProtectedError as exc:
            kinds = sorted({o._meta.label_lower for o in exc.protected_objects})
            raise Conflict(
                "user_in_use",
                f"{user.username} is still referenced by {', '.join(kinds)}",
                details={"referenced_by": kinds},
            ) from None


def reset_password(user: User, *, by: User | None) -> str:
    """Give ``user`` a new random password and return it: the only time it exists in plain
    text (staff only, 403 ``admin_only``; ``by`` None is the server's own command line). Their tokens are revoked, so whoever held the old
    password or a session is signed out."""
    if by is not None and not by.is_staff:
        raise Forbidden("admin_only", "only administrators reset passwords")
    password = secrets.token_urlsafe(RESET_PASSWORD_BYTES)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        ApiToken.objects.filter(user=user).delete()
    return password


def change_password(user: User, *, old_password: str, new_password: str) -> User:
    """The user's own change: the current password must be right (401 ``wrong_password``; a
    token-only user has none: 409 ``no_password``) and the new one pass Django's validators
    (422 ``weak_password`` with their messages). Other tokens stay valid."""
    if not user.has_usable_password():
        raise Conflict("no_password", "this account signs in with tokens only")
    if not user.check_password(old_password):
        raise Unauthorized("wrong_password", "the current password is wrong")
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise Invalid(
            "weak_password", "the new password is not accepted", details={"problems": exc.messages}
        ) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user
