"""Evaluation pages: a dataset's evaluations, and one evaluation's summary table, per-category
AP bars, precision-recall curves and confusion matrix as a heat map (server-drawn SVG)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from visionhub.core.errors import Invalid
from visionhub.datasets import access as dataset_access
from visionhub.evaluation import comparisons
from visionhub.evaluation.access import get_evaluation_for
from visionhub.evaluation.models import Evaluation
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user

CURVES_SHOWN = 12  # categories drawn on the PR chart (the table lists them all)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")  # fmt: skip


@require_GET
def dataset_evaluations(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = dataset_access.get_dataset_for(signed_in_user(request), dataset_id)
    rows = Evaluation.objects.filter(dataset=dataset).select_related("gt", "pred", "created_by")
    page = keyset_page(request, rows, order_by=("-id",))
    return render(request, "web/evaluation/list.html", {"dataset": dataset, "page": page})


@require_GET
def evaluation_detail(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = get_evaluation_for(signed_in_user(request), evaluation_id)
    metrics = evaluation.metrics or {}
    context: dict[str, Any] = {"evaluation": evaluation, "metrics": metrics}
    if evaluation.status == "done" and evaluation.iou_type != "classification":
        context["stats"] = list(metrics.get("stats", {}).items())
        context["bars"] = _bars(metrics.get("per_category", []))
        context["curves"] = _curves(metrics.get("curves", {}))
        context["levels"] = metrics.get("compare_precisions", [])
        context.update(_worst_images(request, evaluation, context["levels"]))
    if evaluation.status == "done":
        context["heat"] = _heat(metrics.get("confusion_matrix", {}))
    return render(request, "web/evaluation/detail.html", context)


def _worst_images(
    request: HttpRequest, evaluation: Evaluation, levels: list[dict[str, Any]]
) -> dict[str, Any]:
    """The images with the most FP (or FN) at the chosen precision level: ``/comparisons``."""
    reached = [level["precision"] for level in levels if level["reached"]]
    if not reached:
        return {}
    order = request.GET.get("order_by", "fp")
    if order not in ("fp", "fn"):
        raise Invalid("invalid_order", "order_by must be fp or fn")
    try:
        precision = float(request.GET.get("precision", reached[len(reached) // 2]))
    except ValueError:
        raise Invalid("invalid_precision", "precision must be a number") from None
    rows = comparisons.error_rows(evaluation, comparisons.level_of(evaluation, precision))
    page = keyset_page(request, rows, order_by=(f"-num_{order}", "-image_id"), limit=60)
    return {"worst": page, "precision": precision, "order_by": order, "reached": reached}


def _bars(per_category: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars of AP per category, 18 px a row, 300 px for AP 1."""
    rows = [
        {
            "name": row["name"],
            "ap": row["ap"],
            "y": 18 * i,
            "width": round(300 * (row["ap"] or 0), 1),
        }
        for i, row in enumerate(per_category)
    ]
    return {"rows": rows, "height": 18 * len(rows) + 4}


def _curves(curves: dict[str, Any]) -> list[dict[str, Any]]:
    """Polylines on a 300 x 200 chart, recall across, precision up, at IoU 0.5."""
    recall = curves.get("recall", [])
    out = []
    for n, entry in enumerate(
        c for c in curves.get("per_category", []) if c.get("precision_at_50")
    ):
        if n == CURVES_SHOWN:
            break
        points = " ".join(
            f"{300 * r:.1f},{200 - 200 * p:.1f}"
            for r, p in zip(recall, entry["precision_at_50"], strict=True)
        )
        out.append({"name": entry["name"], "points": points, "colour": PALETTE[n % len(PALETTE)]})
    return out


def _heat(confusion: dict[str, Any]) -> dict[str, Any]:
    """The confusion matrix as cells shaded by their share of their row (ground truth)."""
    counts = confusion.get("counts", [])
    labels = confusion.get("labels", [])
    rows = []
    for label, row in zip(labels, counts, strict=False):
        total = sum(row) or 1
        cells = []
        for value in row:
            share = value / total
            shade = round(255 - 200 * share)
            cells.append({"value": value, "fill": f"rgb({shade},{shade},255)", "dark": share > 0.6})
        rows.append({"label": label, "cells": cells})
    return {
        "labels": labels,
        "rows": rows,
        "iou": confusion.get("iou"),
        "confidence": confusion.get("confidence"),
    }
