"""Sharing: the one way a dataset, a model or a deployment is shared with other users.

A shared thing has an ``owner`` and ``members`` (a ``Membership`` subclass with a foreign key
to it, ``related_name="members"``). The rules, the same for all three:

- the owner and staff may do anything;
- a member with ``write`` access reads and changes it, one with ``read`` access reads it (a
  public dataset is readable by everyone);
- only the owner and staff manage its members, delete it or change who may see it.

The answers, the same for all three: 404 ``<thing>_not_found`` to whoever cannot read it (as for
something that does not exist), 403 ``read_only`` to a reader who tries to change it, 403
``owner_only`` to anyone but the owner who tries to manage it; adding a member: 404
``user_not_found`` for an unknown username, 422 ``owner_is_not_a_member`` for the owner;
removing one who is not a member: 404 ``member_not_found``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet

from visionhub.accounts.access import get_user_by_username
from visionhub.accounts.models import User
from visionhub.core.errors import Forbidden, Invalid, NotFound


class Access(models.TextChoices):
    READ = "read"
    WRITE = "write"


class Level(IntEnum):
    """What a user may do with a shared thing, in increasing order."""

    NONE = 0
    READ = 1
    WRITE = 2
    OWNER = 3


class Membership(models.Model):
    """Someone other than the owner with read or write access (one row per user and thing)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    access = models.CharField(max_length=5, choices=Access.choices, default=Access.READ)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.user_id} {self.access}"


class Shared(Protocol):
    """A dataset, a model definition or a deployment."""

    pk: Any
    owner_id: int

    @property
    def members(self) -> Any: ...


S = TypeVar("S", bound=models.Model)


def level_of(user: User, thing: Shared, *, public: bool = False) -> Level:
    """``user``'s rights on ``thing`` (one query at most, for members); ``public``: everyone
    may read it."""
    if user.is_staff or thing.owner_id == user.pk:
        return Level.OWNER
    access = thing.members.filter(user=user).values_list("access", flat=True).first()
    if access == Access.WRITE:
        return Level.WRITE
    if access == Access.READ or public:
        return Level.READ
    return Level.NONE


def readable(queryset: QuerySet[S], user: User, *, public: Q | None = None) -> QuerySet[S]:
    """The things of ``queryset`` that ``user`` may read: own, shared with them, or ``public``."""
    if user.is_staff:
        return queryset
    member = queryset.model._meta.get_field("members").related_model
    assert member is not None and not isinstance(member, str)
    shared = member._default_manager.filter(**{_owner_field(member): OuterRef("pk")}, user=user)
    condition = Q(owner=user) | Exists(shared)
    return queryset.filter(condition | public if public is not None else condition)


def _owner_field(member: type[models.Model]) -> str:
    """The name of the foreign key from a membership to its shared thing."""
    for f in member._meta.get_fields():
        if isinstance(f, models.ForeignKey) and f.remote_field.related_name == "members":
            return f.name
    raise LookupError(f"{member.__name__} has no foreign key with related_name='members'")


def check(
    user: User,
    thing: Shared,
    need: Level,
    not_found: Callable[[], NotFound],
    *,
    public: bool = False,
) -> None:
    """Pass if ``user`` has ``need`` on ``thing``; else the rules' 404, or 403 for one who may
    read it."""
    level = level_of(user, thing, public=public)
    if level >= need:
        return
    if level == Level.NONE:
        raise not_found()
    if need == Level.OWNER:
        raise Forbidden("owner_only", "only the owner may do this")
    raise Forbidden("read_only", "you may read this but not change it")


def require_owner(user: User, thing: Shared) -> None:
    """403 ``owner_only`` unless ``user`` owns ``thing`` (or is staff); for callers that have
    already checked that ``user`` may read it."""
    if not (user.is_staff or thing.owner_id == user.pk):
        raise Forbidden("owner_only", "only the owner may do this")


def members_of(thing: Shared) -> QuerySet[Any]:
    """The members of ``thing``, oldest first, with their users."""
    result: QuerySet[Any] = thing.members.select_related("user").order_by("id")
    return result


def set_member(thing: Shared, username: str, access: str) -> Membership:
    """Give ``username`` read or write access to ``thing`` (replacing what they had)."""
    user = get_user_by_username(username)
    if user.pk == thing.owner_id:
        raise Invalid("owner_is_not_a_member", "the owner has every right already")
    member: Membership
    member, _ = thing.members.update_or_create(user=user, defaults={"access": access})
    return member


def remove_member(thing: Shared, username: str) -> None:
    """Take away a member's access (404 ``member_not_found`` if they had none)."""
    deleted, _ = thing.members.filter(user__username=username).delete()
    if not deleted:
        raise NotFound("member_not_found", f"{username} is not a member")
