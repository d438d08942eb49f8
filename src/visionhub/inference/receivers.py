"""What the inference app does when other apps change things its rows refer to (signals, so
that those apps import nothing of inference)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from visionhub.core.errors import Conflict
from visionhub.inference import runs
from visionhub.inference.ledger import Ledger, run_answers_accepted
from visionhub.inference.models import ClassificationRequest, Status
from visionhub.registry.models import ModelVersion
from visionhub.registry.services.versions import version_deleting


@receiver(version_deleting, sender=ModelVersion)
def keep_history_of_a_deleted_version(sender: Any, version: ModelVersion, **_: Any) -> None:
    """Refuse while classifications routed to ``version`` wait to be done; name it in the
    finished ones (``model_ref``), whose foreign key the deletion then clears."""
    requests = ClassificationRequest.objects.filter(model_version=version)
    waiting = requests.filter(status__in=[Status.PENDING, Status.ASSIGNED])
    if waiting.exists():
        raise Conflict(
            "version_in_use",
            f"version {version.version} of {version.definition.name!r} has classifications "
            "still waiting to be done",
            details={"open_classifications": waiting.count()},
        )
    requests.update(model_ref=f"{version.definition.name}:{version.version}")


@receiver(run_answers_accepted, sender=Ledger)
def write_the_answers_of_runs(sender: Any, requests: list[ClassificationRequest], **_: Any) -> None:
    """Accepted answers of runs become annotations of their label sets, in the same
    transaction."""
    runs.write_annotations(requests)
