"""``visionhub gc`` asks a fixed list of apps which blobs they reference: a missing provider
must fail loudly, never let ``gc`` delete blobs still in use."""

from __future__ import annotations

from django.apps import apps

from visionhub.cli.gc import providers


def test_gc_asks_the_datasets_inference_and_registry_apps() -> None:
    assert sorted(providers()) == ["datasets", "inference", "registry"]
    assert all(callable(function) for function in providers().values())


def test_every_model_field_that_holds_a_sha256_belongs_to_an_app_gc_asks() -> None:
    holders = {
        (model._meta.app_label, f"{model.__name__}.{field.name}")
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if "sha256" in field.name
    }
    assert holders, "no model field holds a sha256: the check below would prove nothing"
    unasked = sorted(where for app, where in holders if app not in providers())
    assert not unasked, f"blobs referenced by {unasked} would be deleted by gc"
