"""Client methods for the model registry: models, versions, trainings, projects, deployments.

Files are streamed both ways: uploads are sent from open files in chunks and downloads are
written to disk as they arrive, verified against their sha256.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from visionhub.client.base import BaseClient, ClientError

CHUNK = 1024 * 1024
Json = dict[str, Any]
Progress = Callable[[int], None]


class _CountingReader:
    """A file that reports how many bytes were read from it (for progress bars)."""

    def __init__(self, fileobj: BinaryIO, progress: Progress) -> None:
        self._fileobj = fileobj
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._fileobj.read(size)
        self._progress(len(data))
        return data

    def fileno(self) -> int:
        return self._fileobj.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fileobj.seek(offset, whence)

    def tell(self) -> int:
        return self._fileobj.tell()


def split_ref(ref: str) -> tuple[str, str]:
    """``NAME:VERSION`` → ``(name, version)``; the version may be a number, a name or latest."""
    name, sep, version = ref.rpartition(":")
    if not sep or not name or not version:
        raise ValueError(f"expected NAME:VERSION, not {ref!r}")
    return name, version


class RegistryClient(BaseClient):
    # --- models ------------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        *,
        input: Mapping[str, Any],
        classes: Sequence[str] = (),
        files: Sequence[Mapping[str, Any]] | None = None,
        task: str = "classification",
        description: str = "",
        output: Mapping[str, Any] | None = None,
    ) -> Json:
        """Create a model definition (``files`` defaults to one required ``model.onnx``;
        ``output`` is the output contract of a detection or segmentation model)."""
        body: Json = {
            "name": name,
            "task": task,
            "classes": list(classes),
            "input": dict(input),
            "description": description,
        }
        if files is not None:
            body["files"] = [dict(f) for f in files]
        if output is not None:
            body["output"] = dict(output)
        result: Json = self.post("/models", json=body)
        return result

    def get_model(self, name: str) -> Json:
        result: Json = self.get(f"/models/{name}")
        return result

    def list_models(self) -> Iterator[Json]:
        return self.iterate("/models")

    def update_model(self, name: str, **changes: Any) -> Json:
        """Edit ``description, task, classes, input`` (merged) or ``files``."""
        result: Json = self.patch(f"/models/{name}", json=changes)
        return result

    def delete_model(self, name: str) -> None:
        self.delete(f"/models/{name}")

    def add_model_member(self, name: str, username: str, role: str = "read") -> Json:
        result: Json = self.post(
            f"/models/{name}/members", json={"username": username, "access": role}
        )
        return result

    def remove_model_member(self, name: str, username: str) -> None:
        self.delete(f"/models/{name}/members/{username}")

    # --- versions ----------------------------------------------------------------------------

    def push_model(
        self,
        name: str,
        files: Sequence[str | Path] | Mapping[str, str | Path],
        *,
        dataset: str | int | None = None,
        training: int | None = None,
        pretrained: str | None = None,
        details: Mapping[str, Any] | None = None,
        version_name: str | None = None,
        progress: Progress | None = None,
    ) -> Json:
        """Upload a new version of model ``name``; returns it (``version``, ``files``, …).

        ``files`` are paths (each sent under its file name) or ``{spec name: path}``.
        ``pretrained`` is ``NAME:VERSION``. The files are streamed from disk; ``progress`` is
        called with the number of bytes of every chunk sent.
        """
        named = (
            {k: Path(v) for k, v in files.items()}
            if isinstance(files, Mapping)
            else {Path(p).name: Path(p) for p in files}
        )
        data: dict[str, str] = {}
        if dataset is not None:
            data["dataset"] = str(dataset)
        if training is not None:
            data["training"] = str(training)
        if pretrained:
            data["pretrained"] = pretrained
        if details is not None:
            data["details"] = json.dumps(dict(details))
        if version_name:
            data["name"] = version_name
        with contextlib.ExitStack() as stack:
            parts: list[tuple[str, tuple[str, Any, str]]] = []
            for spec, path in named.items():
                fh: Any = stack.enter_context(path.open("rb"))
                if progress is not None:
                    fh = _CountingReader(fh, progress)
                parts.append(("files", (spec, fh, "application/octet-stream")))
            # No timeout on writing or reading: hundreds of MB take as long as they take.
            result: Json = self.post(
                f"/models/{name}/versions", data=data, files=parts, timeout=None
            )
        return result

    def list_versions(self, name: str) -> Iterator[Json]:
        return self.iterate(f"/models/{name}/versions")

    def get_version(self, name: str, version: str | int) -> Json:
        result: Json = self.get(f"/models/{name}/versions/{version}")
        return result

    def update_version(self, name: str, version: str | int, **changes: Any) -> Json:
        result: Json = self.patch(f"/models/{name}/versions/{version}", json=changes)
        return result

    def delete_version(self, name: str, version: str | int) -> None:
        self.delete(f"/models/{name}/versions/{version}")

    def lineage(self, name: str, version: str | int) -> Json:
        result: Json = self.get(f"/models/{name}/versions/{version}/lineage")
        return result

    def download_path(
        self,
        path: str,
        out: Path | BinaryIO,
        *,
        sha256: str | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Stream ``GET path`` into ``out`` (a path or a binary file); check ``sha256``."""
        sink = out if not isinstance(out, str | Path) else Path(out)
        done = self.stream_to(path, sink, sha256=sha256, progress=progress, timeout=None)
        return done.size

    def pull_model(
        self,
        name: str,
        version: str | int,
        out_dir: str | Path,
        *,
        progress: Progress | None = None,
    ) -> Json:
        """Download every file of a version into ``out_dir`` (verified); returns the version."""
        info = self.get_version(name, version)
        target = Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        for file in info["files"]:
            self.download_path(
                f"/models/{name}/versions/{info['version']}/files/{file['name']}",
                target / file["name"],
                sha256=file["sha256"],
                progress=progress,
            )
        return info

    def download_archive(self, name: str, version: str | int, out: str | Path) -> int:
        """The whole version as one ``.tar.gz``."""
        return self.download_path(f"/models/{name}/versions/{version}/archive", Path(out))

    def export_model(
        self, name: str, version: str | int, out: str | Path, *, progress: Progress | None = None
    ) -> int:
        """Write a bundle (files, definition, lineage) that ``import_model`` recreates."""
        return self.download_path(
            f"/models/{name}/versions/{version}/bundle", Path(out), progress=progress
        )

    def import_model(
        self, bundle: str | Path, *, name: str | None = None, progress: Progress | None = None
    ) -> Json:
        """Recreate the version in ``bundle`` (optionally under model ``name``)."""
        with Path(bundle).open("rb") as raw:
            fh: Any = raw if progress is None else _CountingReader(raw, progress)
            result: Json = self.post(
                "/models/import",
                data={"model": name} if name else {},
                files={"bundle": (Path(bundle).name, fh, "application/gzip")},
                timeout=None,
            )
        return result

    # --- projects and trainings --------------------------------------------------------------

    def create_project(self, name: str, **fields: Any) -> Json:
        result: Json = self.post("/projects", json={"name": name, **fields})
        return result

    def get_project(self, name: str) -> Json:
        result: Json = self.get(f"/projects/{name}")
        return result

    def list_projects(self) -> Iterator[Json]:
        return self.iterate("/projects")

    def create_build_version(self, project: str, tag: str, built_from: str, **fields: Any) -> Json:
        result: Json = self.post(
            f"/projects/{project}/build-versions",
            json={"tag": tag, "built_from": built_from, **fields},
        )
        return result

    def create_training(self, name: str = "", **fields: Any) -> Json:
        """A new WAITING training; ``project``, ``build_version``, ``notebook``, ``details``."""
        result: Json = self.post("/trainings", json={"name": name, **fields})
        return result

    def get_training(self, training_id: int) -> Json:
        result: Json = self.get(f"/trainings/{training_id}")
        return result

    def list_trainings(self, state: str | None = None) -> Iterator[Json]:
        return self.iterate("/trainings", {"state": state} if state else None)

    def update_training(self, training_id: int, **changes: Any) -> Json:
        result: Json = self.patch(f"/trainings/{training_id}", json=changes)
        return result

    def report_progress(
        self, training_id: int, progress: float, state: str | None = None, **metrics: Any
    ) -> Json:
        """For training scripts: report progress (0..1, never backwards), maybe a new state,
        and metrics (merged into the training's details)."""
        body: Json = {"progress": progress}
        if state is not None:
            body["state"] = state
        if metrics:
            body["details"] = metrics
        return self.update_training(training_id, **body)

    # --- deployments -------------------------------------------------------------------------

    def deploy(
        self,
        name: str,
        model: str,
        version: str | int,
        *,
        replication: int | None = None,
        quorum: int | None = None,
    ) -> Json:
        """Create deployment ``name`` for ``model:version``, or roll it out to that version."""
        try:
            current = self.get_deployment(name)
        except ClientError as exc:
            if exc.status != 404:
                raise
            body: Json = {"name": name, "model": model, "version": version}
            body.update({"replication": replication or 1, "quorum": quorum or 1})
            result: Json = self.post("/deployments", json=body)
            return result
        changes: Json = {"model": model, "version": version}
        if replication is not None:
            changes["replication"] = replication
        if quorum is not None:
            changes["quorum"] = quorum
        return self.update_deployment(current["name"], **changes)

    def get_deployment(self, name: str) -> Json:
        result: Json = self.get(f"/deployments/{name}")
        return result

    def list_deployments(self) -> Iterator[Json]:
        return self.iterate("/deployments")

    def update_deployment(self, name: str, **changes: Any) -> Json:
        result: Json = self.patch(f"/deployments/{name}", json=changes)
        return result

    def deployment_history(self, name: str) -> list[Json]:
        return list(self.iterate(f"/deployments/{name}/history"))

    def delete_deployment(self, name: str) -> None:
        self.delete(f"/deployments/{name}")

    def add_deployment_member(self, name: str, username: str, role: str = "read") -> Json:
        result: Json = self.post(
            f"/deployments/{name}/members", json={"username": username, "access": role}
        )
        return result
