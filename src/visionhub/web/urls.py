"""The pages, mounted at ``/`` (the API stays at ``/api/v1/``, the admin at ``/admin/``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from visionhub.web import urls_labeling
from visionhub.web.views import (
    auth,
    benchmarks,
    datasets,
    deployments,
    evaluation,
    gallery,
    home,
    images,
    models,
    oidc,
    trainings,
    vault,
    viewer,
)

app_name = "web"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", home.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("login/oidc/<int:index>/", oidc.start, name="oidc-start"),
    path("login/oidc/callback/", oidc.callback, name="oidc-callback"),
    # datasets
    path("datasets/", datasets.dataset_list, name="datasets"),
    path("datasets/new/", datasets.dataset_create, name="dataset-create"),
    path("datasets/<int:dataset_id>/", gallery.gallery, name="dataset"),
    path("datasets/<int:dataset_id>/edit/", datasets.dataset_edit, name="dataset-edit"),
    path("datasets/<int:dataset_id>/delete/", datasets.dataset_delete, name="dataset-delete"),
    path("datasets/<int:dataset_id>/members/", datasets.dataset_members, name="dataset-members"),
    path(
        "datasets/<int:dataset_id>/members/remove/",
        datasets.member_remove,
        name="dataset-member-remove",
    ),
    path("datasets/<int:dataset_id>/stats/", datasets.dataset_stats, name="dataset-stats"),
    path(
        "datasets/<int:dataset_id>/evaluations/",
        evaluation.dataset_evaluations,
        name="dataset-evaluations",
    ),
    path("evaluations/<int:evaluation_id>/", evaluation.evaluation_detail, name="evaluation"),
    path("datasets/<int:dataset_id>/flag/", gallery.flag_images, name="dataset-flag"),
    # images
    path("images/<int:image_id>/", viewer.viewer, name="image"),
    path("images/<int:image_id>/flag/", viewer.flag_image, name="image-flag"),
    path("images/<int:image_id>/thumbnail", images.thumbnail, name="image-thumbnail"),
    path("images/<int:image_id>/content", images.content, name="image-content"),
    path("annotations/<int:annotation_id>/alpha", images.alpha, name="annotation-alpha"),
    # Models, trainings and deployments (a model is named ``owner~name`` in these URLs).
    path("models/", models.model_list, name="models"),
    path("models/<str:name>/", models.model_detail, name="model"),
    path("models/<str:name>/versions/<str:version>/", models.version_detail, name="model-version"),
    path(
        "models/<str:name>/versions/<str:version>/files/<str:filename>",
        models.version_file,
        name="model-file",
    ),
    path("trainings/", trainings.training_list, name="trainings"),
    path("trainings/status.json", trainings.training_status, name="training-status"),
    path("trainings/<int:training_id>/", trainings.training_detail, name="training"),
    path("deployments/", deployments.deployment_list, name="deployments"),
    path("deployments/<str:name>/", deployments.deployment_detail, name="deployment"),
    path("deployments/<str:name>/stats", deployments.deployment_stats, name="deployment-stats"),
    path("deployments/<str:name>/classify", deployments.classify, name="deployment-classify"),
    path(
        "classifications/<int:request_id>/",
        deployments.classification_detail,
        name="classification",
    ),
    path(
        "classifications/<int:request_id>/status.json",
        deployments.classification_status,
        name="classification-status",
    ),
    # Benchmark results, the benchmarks, sites and flavors, and the review of submissions.
    path("benchmarks/", benchmarks.catalog, {"kind": "benchmarks"}, name="benchmarks"),
    path("benchmarks/sites/", benchmarks.catalog, {"kind": "sites"}, name="benchmark-sites"),
    path("benchmarks/flavors/", benchmarks.catalog, {"kind": "flavors"}, name="benchmark-flavors"),
    path("benchmarks/results/", benchmarks.result_list, name="benchmark-results"),
    path("benchmarks/results.csv", benchmarks.result_csv, name="benchmark-results-csv"),
    path("benchmarks/review/", benchmarks.review_list, name="benchmark-review"),
    path(
        "benchmarks/review/<uuid:submit_id>/approve",
        benchmarks.review_decide,
        {"decision": "approve"},
        name="benchmark-approve",
    ),
    path(
        "benchmarks/review/<uuid:submit_id>/reject",
        benchmarks.review_decide,
        {"decision": "reject"},
        name="benchmark-reject",
    ),
    # The vault.
    path("vault/", vault.secret_list, name="vault"),
    path("vault/<str:name>/reveal", vault.reveal, name="vault-reveal"),
    path("labeling/", include(urls_labeling.urlpatterns)),
]
