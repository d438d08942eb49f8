"""Admin pages for datasets; deletions go through the services (cheap cascades)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.datasets.models import Annotation, Category, Dataset, DatasetMember, Image, LabelSet
from visionhub.datasets.services import annotations as annotation_service
from visionhub.datasets.services import datasets, images, labels


class MemberInline(admin.TabularInline[DatasetMember, Dataset]):
    model = DatasetMember
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin[Dataset]):
    list_display = ("name", "owner", "visibility", "num_images", "status", "created_at")
    list_filter = ("visibility", "status")
    search_fields = ("name", "display_name", "owner__username")
    raw_id_fields = ("owner", "cover")
    readonly_fields = ("num_images", "next_idx")
    inlines = [MemberInline]

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        datasets.delete_dataset(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            datasets.delete_dataset(dataset)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin[Image]):
    list_display = ("id", "dataset", "idx", "filename", "width", "height", "flag")
    list_filter = ("flag",)
    search_fields = ("sha256", "filename")
    raw_id_fields = ("dataset",)
    readonly_fields = ("dataset", "idx", "sha256", "size", "width", "height", "format")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # images are uploaded through the API, which checks them

    def delete_model(self, request: HttpRequest, obj: Image) -> None:
        images.delete_image(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        for image in queryset:
            images.delete_image(image)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("name", "dataset", "supercategory", "source_id")
    search_fields = ("name",)
    raw_id_fields = ("dataset",)


@admin.register(LabelSet)
class LabelSetAdmin(admin.ModelAdmin[LabelSet]):
    list_display = ("name", "dataset", "kind", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("dataset", "cloned_from")

    def delete_model(self, request: HttpRequest, obj: LabelSet) -> None:
        labels.delete_label_set(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LabelSet]) -> None:
        for label_set in queryset:
            labels.delete_label_set(label_set)


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin[Annotation]):
    list_display = ("id", "image", "label_set", "category", "conf")
    raw_id_fields = ("image", "label_set", "category", "matched_gt")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # annotations are validated by the API's bulk path

    def delete_model(self, request: HttpRequest, obj: Annotation) -> None:
        annotation_service.delete_annotations(Annotation.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Annotation]) -> None:
        annotation_service.delete_annotations(queryset)
