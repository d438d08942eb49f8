"""``/api/v1/datasets``, ``/images``, ``/categories``, ``/label-sets``, ``/annotations``.

Each handler: parse → ``access`` (404 for what the caller cannot read, 403 for a write they may
not make) → one service call → output schema.
"""

from __future__ import annotations

from typing import IO, Any, Literal

from django.db.models import Model
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from visionhub.accounts import sharing
from visionhub.accounts.auth import current_user
from visionhub.accounts.models import User
from visionhub.accounts.schemas import MemberIn, MemberOut
from visionhub.core.errors import ApiError, Invalid
from visionhub.core.pagination import Page, PageResult, paginate
from visionhub.core.text import parse_json
from visionhub.datasets import access, links, shape
from visionhub.datasets.models import Annotation, Category, LabelSet
from visionhub.datasets.schemas import (
    AnnotationOut,
    AnnotationsOut,
    AttachIn,
    AttachOut,
    BigInt,
    BulkFlagIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CloneIn,
    CountOut,
    CreatedOut,
    DatasetIn,
    DatasetOut,
    DatasetPatch,
    FlagImportOut,
    FlagIn,
    HashesIn,
    HashesOut,
    Id,
    ImageOut,
    ImagePatch,
    LabelSetIn,
    LabelSetOut,
    LabelSetPatch,
    StagedOut,
    StatsOut,
)
from visionhub.datasets.services import annotations as annotation_service
from visionhub.datasets.services import coco_export, datasets, flags, images, labels, stats
from visionhub.datasets.services.decode import content_type
from visionhub.storage.http import blob_response

router = Router(tags=["datasets"])

# --- datasets -------------------------------------------------------------------------------


@router.post("/datasets", response={201: DatasetOut})
def create_dataset(request: HttpRequest, body: DatasetIn) -> Status[Any]:
    user = current_user(request)
    fields = body.model_dump(exclude={"name", "model"})
    fields["model"] = _model(user, body.model)
    return Status(201, datasets.create_dataset(user, body.name, **fields))


def _model(user: User, ref: str | None) -> Model | None:
    """The model definition a dataset names (seed 003's ``model``): one the caller may read."""
    return links.resolve_model(user, ref) if ref else None


@router.get("/datasets", response=Page[DatasetOut])
def list_datasets(
    request: HttpRequest,
    name: str | None = None,
    owner: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    """Datasets the caller may read. ``name`` is looked up in the caller's namespace unless
    written ``owner/name``."""
    found = access.find_datasets(current_user(request), name=name, owner=owner)
    return paginate(found.select_related("owner", "model__owner"), cursor=cursor, limit=limit)


@router.get("/datasets/{dataset_id}", response=DatasetOut)
def get_dataset(request: HttpRequest, dataset_id: int) -> Any:
    return access.get_dataset_for(current_user(request), dataset_id)


@router.patch("/datasets/{dataset_id}", response=DatasetOut)
def update_dataset(request: HttpRequest, dataset_id: int, body: DatasetPatch) -> Any:
    """Write members may change a dataset; only its owner may change its visibility."""
    owner_only = body.visibility is not None
    user = current_user(request)
    dataset = access.get_dataset_for(user, dataset_id, write=True, owner=owner_only)
    changes = body.model_dump(exclude_unset=True, exclude={"model"})
    if "model" in body.model_fields_set:
        datasets.set_dataset_model(dataset, _model(user, body.model))
    return datasets.update_dataset(dataset, **changes)


@router.delete("/datasets/{dataset_id}", response={204: None})
def delete_dataset(request: HttpRequest, dataset_id: int) -> Status[None]:
    dataset = access.get_dataset_for(current_user(request), dataset_id, owner=True)
    datasets.delete_dataset(dataset)
    return Status(204, None)


@router.get("/datasets/{dataset_id}/stats", response=StatsOut)
def dataset_stats(request: HttpRequest, dataset_id: int, exact: bool = False) -> Any:
    """Images, and annotations per category per label set. ``exact`` recounts (slow)."""
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=exact)
    return stats.dataset_stats(dataset, exact=exact)


@router.get("/datasets/{dataset_id}/members", response=list[MemberOut])
def list_members(request: HttpRequest, dataset_id: int) -> Any:
    dataset = access.get_dataset_for(current_user(request), dataset_id, owner=True)
    return sharing.members_of(dataset)


@router.post("/datasets/{dataset_id}/members", response={201: MemberOut})
def set_member(request: HttpRequest, dataset_id: int, body: MemberIn) -> Status[Any]:
    dataset = access.get_dataset_for(current_user(request), dataset_id, owner=True)
    return Status(201, sharing.set_member(dataset, body.username, body.level))


@router.delete("/datasets/{dataset_id}/members/{username}", response={204: None})
def remove_member(request: HttpRequest, dataset_id: int, username: str) -> Status[None]:
    dataset = access.get_dataset_for(current_user(request), dataset_id, owner=True)
    sharing.remove_member(dataset, username)
    return Status(204, None)


@router.get("/datasets/{dataset_id}/export/coco")
def export_coco(
    request: HttpRequest, dataset_id: int, label_set: int | None = None
) -> HttpResponseBase:
    """The dataset as one COCO JSON document, streamed (annotations of ``label_set``)."""
    dataset = access.get_dataset_for(current_user(request), dataset_id)
    chosen = access.get_label_set_in(dataset, label_set) if label_set is not None else None
    response = StreamingHttpResponse(
        coco_export.export_coco(dataset, chosen), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{dataset.name}.coco.json"'
    return response


@router.get("/datasets/{dataset_id}/flags.tsv", response={200: None})
def export_flags(request: HttpRequest, dataset_id: int) -> HttpResponseBase:
    """Every image's flag as TSV (``image_id, filename, flag, flag_ts``), streamed; the
    dataset's ``flag_export_link``."""
    dataset = access.get_dataset_for(current_user(request), dataset_id)
    response = StreamingHttpResponse(
        flags.export_flags(dataset), content_type="text/tab-separated-values; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{dataset.name}.flags.tsv"'
    return response


@router.post("/datasets/{dataset_id}/flags.tsv", response=FlagImportOut)
def import_flags(
    request: HttpRequest, dataset_id: int, file: File[UploadedFile]
) -> flags.FlagImport:
    """Read flags back from such a file (write access): what it skips is counted."""
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    return flags.import_flags(dataset, file)


# --- images ---------------------------------------------------------------------------------


class ImageForm(Schema):
    filename: str | None = None
    metadata: str | None = None
    source_id: BigInt | None = None


@router.post("/datasets/{dataset_id}/images", response={200: ImageOut, 201: ImageOut})
def upload_image(
    request: HttpRequest,
    dataset_id: int,
    file: File[UploadedFile],
    form: Form[ImageForm],
) -> Status[Any]:
    """Add one image (multipart ``file``; optional ``filename`` — a relative path, default the
    file part's name —, ``metadata`` JSON and ``source_id``).

    201 with the new image; 200 with the existing one when the dataset already holds the same
    content (nothing changes).
    """
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    image, created = images.add_image(
        dataset,
        _stream(file),
        filename=form.filename or file.name or "",
        metadata=_json_object(form.metadata, "metadata"),
        source_id=form.source_id,
        size=file.size,
    )
    return Status(201 if created else 200, image)


def _stream(file: UploadedFile) -> IO[bytes]:
    if file.file is None:
        raise Invalid("invalid_upload", "the file part is empty")
    stream: IO[bytes] = file.file
    return stream


def _json_object(text: str | None, field: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = parse_json(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ApiError("invalid_json", f"{field} must be a JSON object", details={"field": field})
    return value


class ImageQuery(Schema):
    from_idx: BigInt | None = None
    flag: int | None = None
    label_set: Id | None = None
    category: Id | None = None
    min_conf: float | None = None
    max_conf: float | None = None
    has_annotations: bool | None = None
    errors: Literal["fp", "fn"] | None = None
    evaluation: Id | None = None
    precision: float | None = None
    limit: int = 100
    cursor: str | None = None


@router.get("/datasets/{dataset_id}/images", response=Page[ImageOut])
def list_images(request: HttpRequest, dataset_id: int, query: Query[ImageQuery]) -> PageResult[Any]:
    """Images in ``idx`` order; ``from_idx`` starts at a position, the other filters select
    images by flag or by their annotations (see ``services.images.ImageFilter``)."""
    dataset = access.get_dataset_for(current_user(request), dataset_id)
    chosen = images.browse(
        dataset, images.ImageFilter(**query.model_dump(exclude={"limit", "cursor"}))
    )
    return paginate(chosen, order_by=("idx",), cursor=query.cursor, limit=query.limit)


@router.post("/datasets/{dataset_id}/images/missing", response=HashesOut)
def missing_images(request: HttpRequest, dataset_id: int, body: HashesIn) -> Any:
    """Which of these sha256 the dataset lacks, the ids of the others, and which of the
    missing ones can be added by hash (``from-hashes``) without uploading them."""
    user = current_user(request)
    dataset = access.get_dataset_for(user, dataset_id, write=True)
    found = images.check_hashes(dataset, body.sha256, by=user)
    present = [{"sha256": h, "id": i} for h, i in found.present.items()]
    return {"missing": found.missing, "present": present, "attachable": found.attachable}


@router.post("/datasets/{dataset_id}/uploads", response={201: StagedOut})
def stage_image(request: HttpRequest, dataset_id: int, file: File[UploadedFile]) -> Status[Any]:
    """Check and store an image (multipart ``file``) to add later with ``from-hashes``: bulk
    imports upload in parallel here, then add the images in their file's order."""
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    return Status(201, images.stage_image(dataset, _stream(file), size=file.size))


@router.post("/datasets/{dataset_id}/images/from-hashes", response=AttachOut)
def attach_images(request: HttpRequest, dataset_id: int, body: AttachIn) -> Any:
    """Add images, in this order, by the sha256 of content staged for this dataset or that the
    caller can already read elsewhere."""
    user = current_user(request)
    dataset = access.get_dataset_for(user, dataset_id, write=True)
    items = [images.HashedImage(**item.model_dump()) for item in body.images]
    result = images.attach_by_hash(dataset, items, by=user)
    return {"images": result.images, "missing": result.missing, "rejected": result.rejected}


@router.post("/datasets/{dataset_id}/images/flag", response=CountOut)
def flag_images(request: HttpRequest, dataset_id: int, body: BulkFlagIn) -> Any:
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    return {"count": images.flag_images(dataset, body.image_ids, body.flag)}


@router.get("/images/{image_id}", response=ImageOut)
def get_image(request: HttpRequest, image_id: int) -> Any:
    return access.get_image_for(current_user(request), image_id)


@router.patch("/images/{image_id}", response=ImageOut)
def update_image(request: HttpRequest, image_id: int, body: ImagePatch) -> Any:
    image = access.get_image_for(current_user(request), image_id, write=True)
    return images.update_image(image, **body.model_dump())


@router.delete("/images/{image_id}", response={204: None})
def delete_image(request: HttpRequest, image_id: int) -> Status[None]:
    image = access.get_image_for(current_user(request), image_id, write=True)
    images.delete_image(image)
    return Status(204, None)


@router.api_operation(["GET", "HEAD"], "/images/{image_id}/content")
def image_content(request: HttpRequest, image_id: int) -> HttpResponseBase:
    """The image's bytes as uploaded (Range requests supported)."""
    image = access.get_image_for(current_user(request), image_id)
    return blob_response(request, image.sha256, content_type=content_type(image.format))


@router.api_operation(["GET", "HEAD"], "/images/{image_id}/thumbnail")
def image_thumbnail(request: HttpRequest, image_id: int) -> HttpResponseBase:
    """A JPEG of at most 256x256 pixels."""
    image = access.get_image_for(current_user(request), image_id)
    return blob_response(request, image.thumbnail_sha256, content_type="image/jpeg")


@router.post("/images/{image_id}/flag", response=ImageOut)
def flag_image(request: HttpRequest, image_id: int, body: FlagIn) -> Any:
    image = access.get_image_for(current_user(request), image_id, write=True)
    images.flag_images(image.dataset, [image.pk], body.flag)
    image.refresh_from_db(fields=["flag", "flag_ts"])
    return image


# --- annotations ----------------------------------------------------------------------------


# Bulk annotation bodies are decoded and checked by the service, field by field, instead of by
# pydantic: a fraction of the time on 10,000 annotations, and one error shape with indexes.
ANNOTATIONS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": shape.BODY_SCHEMA}},
    }
}


@router.post(
    "/datasets/{dataset_id}/annotations",
    response={201: CreatedOut},
    openapi_extra=ANNOTATIONS_BODY,
)
def create_annotations(request: HttpRequest, dataset_id: int) -> Status[Any]:
    """Add up to 100,000 annotations at once (``{"annotations": [...]}``), all or none: any
    violation answers 422 ``invalid_annotations`` with ``details.errors`` = ``[{index, field,
    reason}, …]``."""
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    return Status(
        201, {"created": annotation_service.create_annotations_json(dataset, request.body)}
    )


@router.get("/datasets/{dataset_id}/annotations", response=Page[AnnotationOut])
def list_annotations(
    request: HttpRequest,
    dataset_id: int,
    label_set: int,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    """Every annotation of one label set, in id order."""
    dataset = access.get_dataset_for(current_user(request), dataset_id)
    chosen = access.get_label_set_in(dataset, label_set)
    rows = Annotation.objects.filter(label_set=chosen)
    return paginate(rows, cursor=cursor, limit=limit)


@router.get("/images/{image_id}/annotations", response=Page[AnnotationOut])
def image_annotations(
    request: HttpRequest,
    image_id: int,
    label_set: int | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[Any]:
    image = access.get_image_for(current_user(request), image_id)
    chosen = access.get_label_set_in(image.dataset, label_set) if label_set else None
    return paginate(annotation_service.per_image(image, chosen), cursor=cursor, limit=limit)


@router.post(
    "/images/{image_id}/annotations",
    response={201: AnnotationsOut},
    openapi_extra=ANNOTATIONS_BODY,
)
def create_image_annotations(request: HttpRequest, image_id: int) -> Status[Any]:
    """Add annotations to one image (their ``image_id`` is ignored), all or none."""
    image = access.get_image_for(current_user(request), image_id, write=True)
    items = annotation_service.decode_body(request.body)
    created = annotation_service.create_image_annotations(image, items)
    return Status(201, {"annotations": created})


@router.delete("/images/{image_id}/annotations", response=CountOut)
def delete_image_annotations(
    request: HttpRequest, image_id: int, label_set: int | None = None
) -> Any:
    image = access.get_image_for(current_user(request), image_id, write=True)
    chosen = access.get_label_set_in(image.dataset, label_set) if label_set else None
    return {
        "count": annotation_service.delete_annotations(annotation_service.per_image(image, chosen))
    }


@router.get("/annotations/{annotation_id}", response=AnnotationOut)
def get_annotation(request: HttpRequest, annotation_id: int) -> Any:
    return access.get_annotation_for(current_user(request), annotation_id)


@router.delete("/annotations/{annotation_id}", response={204: None})
def delete_annotation(request: HttpRequest, annotation_id: int) -> Status[None]:
    annotation = access.get_annotation_for(current_user(request), annotation_id, write=True)
    annotation_service.delete_annotations(Annotation.objects.filter(pk=annotation.pk))
    return Status(204, None)


@router.post("/annotations/{annotation_id}/alpha", response=AnnotationOut)
def set_alpha(request: HttpRequest, annotation_id: int, file: File[UploadedFile]) -> Any:
    """Attach an alpha matte: an image of exactly the annotated image's size."""
    annotation = access.get_annotation_for(current_user(request), annotation_id, write=True)
    return annotation_service.set_alpha(annotation, _stream(file))


@router.api_operation(["GET", "HEAD"], "/annotations/{annotation_id}/alpha")
def get_alpha(request: HttpRequest, annotation_id: int) -> HttpResponseBase:
    annotation = access.get_annotation_for(current_user(request), annotation_id)
    return blob_response(request, annotation_service.alpha_of(annotation), content_type="image/png")


# --- categories and label sets --------------------------------------------------------------


@router.post("/datasets/{dataset_id}/categories", response={201: CategoryOut})
def create_category(request: HttpRequest, dataset_id: int, body: CategoryIn) -> Status[Any]:
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    return Status(201, labels.create_category(dataset, **body.model_dump()))


@router.get("/datasets/{dataset_id}/categories", response=Page[CategoryOut])
def list_categories(
    request: HttpRequest, dataset_id: int, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    dataset = access.get_dataset_for(current_user(request), dataset_id)
    rows = Category.objects.filter(dataset=dataset)
    return paginate(rows, cursor=cursor, limit=limit)


@router.get("/categories/{category_id}", response=CategoryOut)
def get_category(request: HttpRequest, category_id: int) -> Any:
    return access.get_category_for(current_user(request), category_id)


@router.patch("/categories/{category_id}", response=CategoryOut)
def update_category(request: HttpRequest, category_id: int, body: CategoryPatch) -> Any:
    category = access.get_category_for(current_user(request), category_id, write=True)
    return labels.update_category(category, **body.model_dump())


@router.post("/datasets/{dataset_id}/label-sets", response={201: LabelSetOut})
def create_label_set(request: HttpRequest, dataset_id: int, body: LabelSetIn) -> Status[Any]:
    dataset = access.get_dataset_for(current_user(request), dataset_id, write=True)
    return Status(201, labels.create_label_set(dataset, **body.model_dump()))


@router.get("/datasets/{dataset_id}/label-sets", response=Page[LabelSetOut])
def list_label_sets(
    request: HttpRequest, dataset_id: int, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    dataset = access.get_dataset_for(current_user(request), dataset_id)
    rows = LabelSet.objects.filter(dataset=dataset)
    return paginate(rows, cursor=cursor, limit=limit)


@router.get("/label-sets/{label_set_id}", response=LabelSetOut)
def get_label_set(request: HttpRequest, label_set_id: int) -> Any:
    return access.get_label_set_for(current_user(request), label_set_id)


@router.patch("/label-sets/{label_set_id}", response=LabelSetOut)
def update_label_set(request: HttpRequest, label_set_id: int, body: LabelSetPatch) -> Any:
    label_set = access.get_label_set_for(current_user(request), label_set_id, write=True)
    return labels.update_label_set(label_set, **body.model_dump())


@router.delete("/label-sets/{label_set_id}", response={204: None})
def delete_label_set(request: HttpRequest, label_set_id: int) -> Status[None]:
    label_set = access.get_label_set_for(current_user(request), label_set_id, write=True)
    labels.delete_label_set(label_set)
    return Status(204, None)


@router.post("/label-sets/{label_set_id}/clone", response={201: LabelSetOut})
def clone_label_set(request: HttpRequest, label_set_id: int, body: CloneIn) -> Status[Any]:
    """A new label set with a copy of every annotation of this one."""
    label_set = access.get_label_set_for(current_user(request), label_set_id, write=True)
    return Status(201, labels.clone_label_set(label_set, body.name, kind=body.kind))


@router.delete("/label-sets/{label_set_id}/annotations", response=CountOut)
def clear_label_set(request: HttpRequest, label_set_id: int) -> Any:
    label_set = access.get_label_set_for(current_user(request), label_set_id, write=True)
    return {"count": annotation_service.clear_label_set(label_set)}
