"""Who may see and change what: every dataset object a client names is fetched here.

The rules, in one place:

- the owner, and members with ``write`` access, read and change a dataset's content;
- members with ``read`` access, and everyone when the dataset is public, read it;
- staff may do anything;
- only the owner (or staff) deletes a dataset, changes its visibility or manages its members.

Someone who cannot read a dataset gets ``404 <thing>_not_found`` for it and everything in it,
exactly as if it did not exist. Someone who can read it but asks to change it gets ``403
read_only`` (``owner_only`` to manage it): the dataset's existence is no secret to them. These
are the rules of every shared thing (``accounts/sharing.py``).
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from visionhub.accounts import sharing
from visionhub.accounts.models import User
from visionhub.accounts.sharing import Level
from visionhub.core.errors import NotFound
from visionhub.datasets.models import (
    Annotation,
    Category,
    Dataset,
    Image,
    LabelSet,
    Visibility,
)


def level_of(user: User, dataset: Dataset) -> Level:
    """The caller's rights on ``dataset`` (one query at most, for members)."""
    return sharing.level_of(user, dataset, public=dataset.visibility == Visibility.PUBLIC)


def readable_datasets(user: User) -> QuerySet[Dataset]:
    """Every dataset ``user`` may read."""
    return sharing.readable(Dataset.objects.all(), user, public=Q(visibility=Visibility.PUBLIC))


M = TypeVar("M", bound=Model)


def _find(queryset: QuerySet[M], pk: int) -> M | None:
    """Row ``pk`` of ``queryset``, or None; an id no bigint holds names nothing (rather than
    a database error)."""
    if not 0 < pk < 2**63:
        return None
    return queryset.filter(pk=pk).first()


def check(user: User, dataset: Dataset, need: Level, what: str = "dataset") -> Dataset:
    """Return ``dataset`` if ``user`` has ``need``; 404 if they cannot read it, else 403."""
    sharing.check(
        user,
        dataset,
        need,
        lambda: NotFound(f"{what}_not_found", f"no such {what}"),
        public=dataset.visibility == Visibility.PUBLIC,
    )
    return dataset


def _need(write: bool, owner: bool) -> Level:
    if owner:
        return Level.OWNER
    return Level.WRITE if write else Level.READ


def get_dataset_for(
    user: User, dataset_id: int, *, write: bool = False, owner: bool = False
) -> Dataset:
    """The dataset ``dataset_id`` if ``user`` may read it (``write``: change its content,
    ``owner``: delete it or manage its members)."""
    dataset = _find(Dataset.objects.all(), dataset_id)
    if dataset is None:
        raise NotFound("dataset_not_found", "no such dataset")
    return check(user, dataset, _need(write, owner))


def get_dataset_by_name_for(user: User, name: str) -> Dataset:
    """``name`` in the caller's namespace, or ``owner/name`` in another user's."""
    owner_name, _, dataset_name = name.rpartition("/")
    query = Dataset.objects.filter(name=dataset_name)
    query = query.filter(owner__username=owner_name) if owner_name else query.filter(owner=user)
    dataset = query.first()
    if dataset is None:
        raise NotFound("dataset_not_found", f"no dataset {name!r}")
    return check(user, dataset, Level.READ)


def get_image_for(user: User, image_id: int, *, write: bool = False) -> Image:
    """The image ``image_id`` (with its dataset) if ``user`` may read (``write``: change) it."""
    image = _find(Image.objects.select_related("dataset"), image_id)
    if image is None:
        raise NotFound("image_not_found", "no such image")
    check(user, image.dataset, _need(write, False), "image")
    return image


def get_category_for(user: User, category_id: int, *, write: bool = False) -> Category:
    category = _find(Category.objects.select_related("dataset"), category_id)
    if category is None:
        raise NotFound("category_not_found", "no such category")
    check(user, category.dataset, _need(write, False), "category")
    return category


def get_label_set_for(user: User, label_set_id: int, *, write: bool = False) -> LabelSet:
    label_set = _find(LabelSet.objects.select_related("dataset"), label_set_id)
    if label_set is None:
        raise NotFound("label_set_not_found", "no such label set")
    check(user, label_set.dataset, _need(write, False), "label_set")
    return label_set


def get_annotation_for(user: User, annotation_id: int, *, write: bool = False) -> Annotation:
    annotation = _find(Annotation.objects.select_related("image__dataset"), annotation_id)
    if annotation is None:
        raise NotFound("annotation_not_found", "no such annotation")
    check(user, annotation.image.dataset, _need(write, False), "annotation")
    return annotation


def get_label_set_in(dataset: Dataset, label_set_id: int) -> LabelSet:
    """A label set of ``dataset`` (whose access the caller has already passed)."""
    label_set = _find(LabelSet.objects.filter(dataset=dataset), label_set_id)
    if label_set is None:
        raise NotFound("label_set_not_found", "no such label set in this dataset")
    return label_set


def find_datasets(
    user: User, *, name: str | None = None, owner: str | None = None
) -> QuerySet[Dataset]:
    """The readable datasets called ``name`` (the caller's own unless ``owner/name``) and/or
    owned by ``owner``."""
    found = readable_datasets(user)
    if name is not None:
        owner_name, _, name = name.rpartition("/")
        found = found.filter(name=name)
        if owner_name:
            found = found.filter(owner__username=owner_name)
        elif owner is None:
            found = found.filter(owner=user)
    if owner is not None:
        found = found.filter(owner__username=owner)
    return found
