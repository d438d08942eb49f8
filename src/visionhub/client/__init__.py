"""``visionhub.client.Client(server, token)``: the typed HTTP client used by the CLI and workers."""

from __future__ import annotations

from visionhub.client.base import BaseClient, ClientError
from visionhub.client.benchmarks import BenchmarksClient
from visionhub.client.evaluation import EvaluationsClient
from visionhub.client.inference import InferenceClient
from visionhub.client.labeling import LabelingClient
from visionhub.client.registry import RegistryClient
from visionhub.client.transfer import TransferClient
from visionhub.client.vault import VaultClient


class Client(
    TransferClient, RegistryClient, InferenceClient, BenchmarksClient, VaultClient, BaseClient
):
    """One client for the whole API; each domain's methods live in its own module."""

    @property
    def labeling(self) -> LabelingClient:
        """Labeling projects and tasks (``visionhub.client.labeling``)."""
        return LabelingClient(self)

    @property
    def evaluations(self) -> EvaluationsClient:
        """Evaluations: ``client.evaluations.create(…)``, ``.wait(id)``, ``.comparisons(…)``."""
        return EvaluationsClient(self)


__all__ = ["BaseClient", "Client", "ClientError"]
