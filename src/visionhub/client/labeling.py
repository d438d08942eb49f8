"""Client methods for labeling projects (``/label-projects``, ``/label-tasks``):
``Client(...).labeling.create_project(...)``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from visionhub.client.base import BaseClient
from visionhub.client.errors import ClientError

JSON = dict[str, Any]

# A project holds these statuses while its background task runs.
RUNNING = ("initializing", "exporting")


class LabelingClient:
    """Labeling projects through one ``BaseClient`` (its token, pool and retries)."""

    def __init__(self, base: BaseClient) -> None:
        self.base = base

    # --- projects -----------------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        datasets: Sequence[int | str],
        managers: Sequence[str],
        categories: Sequence[str],
        description: str = "",
        pre_label: str = "",
        images: Sequence[int] | None = None,
    ) -> JSON:
        """A project over ``datasets`` (ids, or names resolved as ``Client.dataset`` does);
        with ``images`` (ids), over those images of them only."""
        ids = [self._dataset_id(d) for d in datasets]
        body: JSON = {"name": name, "datasets": ids, "managers": list(managers),
                      "categories": list(categories), "description": description,
                      "pre_label": pre_label}  # fmt: skip
        if images is not None:
            body["images"] = list(images)
        result: JSON = self.base.post("/label-projects", json=body)
        return result

    def _dataset_id(self, ref: int | str) -> int:
        if isinstance(ref, int) or ref.isdigit():
            return int(ref)
        page = self.base.get("/datasets", params={"name": ref, "limit": 1})
        if not page["items"]:
            raise ClientError(404, "dataset_not_found", f"no dataset {ref!r}", {})
        return int(page["items"][0]["id"])

    def list_projects(self, *, status: str | None = None) -> Iterator[JSON]:
        return self.base.iterate("/label-projects", {"status": status} if status else None)

    def project(self, project_id: int) -> JSON:
        result: JSON = self.base.get(f"/label-projects/{project_id}")
        return result

    def edit_project(self, project_id: int, **changes: Any) -> JSON:
        """Change ``name``, ``description`` or ``managers`` (usernames)."""
        result: JSON = self.base.patch(f"/label-projects/{project_id}", json=changes)
        return result

    def init_project(
        self,
        project_id: int,
        *,
        batch_size: int,
        label_times: int,
        review_times: int,
        wait: bool = True,
        timeout: float = 600,
    ) -> JSON:
        """Split the project into tasks; with ``wait``, until the background task is done."""
        body = {"batch_size": batch_size, "label_times": label_times, "review_times": review_times}
        result: JSON = self.base.post(f"/label-projects/{project_id}/init", json=body)
        return self.wait(project_id, timeout=timeout) if wait else result

    def wait(self, project_id: int, *, timeout: float = 600, interval: float = 0.2) -> JSON:
        """The project once its background task ended; ``ClientError`` ``task_failed`` with
        the project's error if it failed, ``timeout`` if it is still running."""
        deadline = time.monotonic() + timeout
        while True:
            project = self.project(project_id)
            if project["status"] not in RUNNING:
                if project["error"]:
                    raise ClientError(500, "task_failed", project["error"], {"project": project})
                return project
            if time.monotonic() > deadline:
                raise ClientError(
                    0, "timeout", f"project {project_id} is still {project['status']}", {}
                )
            time.sleep(interval)

    def progress(self, project_id: int) -> JSON:
        result: JSON = self.base.get(f"/label-projects/{project_id}/progress")
        return result

    def project_roles(self, project_id: int) -> list[JSON]:
        result: list[JSON] = self.base.get(f"/label-projects/{project_id}/roles")
        return result

    def tasks(self, project_id: int, *, status: str | None = None) -> Iterator[JSON]:
        params = {"status": status} if status else None
        return self.base.iterate(f"/label-projects/{project_id}/tasks", params)

    def qa_project(self, project_id: int, action: str) -> JSON:
        """``accept`` or ``reject`` a reviewing project (its owner)."""
        result: JSON = self.base.post(f"/label-projects/{project_id}/qa", json={"action": action})
        return result

    def export_project(
        self,
        project_id: int,
        label_set: str,
        *,
        mode: str = "merge",
        wait: bool = True,
        timeout: float = 600,
    ) -> JSON:
        """Write the accepted labels back as ``label_set`` (``merge`` or ``per_labeler``)."""
        body = {"label_set": label_set, "mode": mode}
        result: JSON = self.base.post(f"/label-projects/{project_id}/export", json=body)
        return self.wait(project_id, timeout=timeout) if wait else result

    # --- tasks --------------------------------------------------------------------------------

    def task(self, task_id: int) -> JSON:
        result: JSON = self.base.get(f"/label-tasks/{task_id}")
        return result

    def task_roles(self, task_id: int) -> list[JSON]:
        result: list[JSON] = self.base.get(f"/label-tasks/{task_id}/roles")
        return result

    def set_leader(self, task_id: int, role: str, username: str) -> JSON:
        """Make ``username`` the task's ``label_leader`` or ``review_leader``."""
        body = {"role": role, "username": username}
        result: JSON = self.base.post(f"/label-tasks/{task_id}/leaders", json=body)
        return result

    def set_workers(self, task_id: int, role: str, usernames: Sequence[str]) -> list[JSON]:
        """All the ``labeler``s (or ``reviewer``s) of the task at once."""
        body = {"role": role, "usernames": list(usernames)}
        result: list[JSON] = self.base.post(f"/label-tasks/{task_id}/workers", json=body)
        return result

    def replace_worker(self, task_id: int, role: str, old: str, new: str) -> JSON:
        body = {"role": role, "old": old, "new": new}
        result: JSON = self.base.post(f"/label-tasks/{task_id}/workers/replace", json=body)
        return result

    def restart_task(self, task_id: int) -> JSON:
        result: JSON = self.base.post(f"/label-tasks/{task_id}/restart")
        return result

    def qa_task(self, task_id: int, action: str) -> JSON:
        """``accept``, ``reject`` or ``force_accept`` a task (a manager)."""
        result: JSON = self.base.post(f"/label-tasks/{task_id}/qa", json={"action": action})
        return result

    def task_images(
        self, task_id: int, *, status: str | None = None, user: str | None = None
    ) -> Iterator[JSON]:
        """The task's images with the labels the caller may see; ``status`` is the caller's
        own (or ``user``'s) status as a worker, else the images' overall one."""
        params = {k: v for k, v in (("status", status), ("user", user)) if v}
        return self.base.iterate(f"/label-tasks/{task_id}/images", params)

    def task_image(self, task_id: int, task_image_id: int) -> JSON:
        result: JSON = self.base.get(f"/label-tasks/{task_id}/images/{task_image_id}")
        return result

    def set_label(self, task_id: int, task_image_id: int, annotations: Sequence[JSON]) -> JSON:
        """Save the caller's label of one image (all its annotations)."""
        result: JSON = self.base.request(
            "PUT",
            f"/label-tasks/{task_id}/images/{task_image_id}/label",
            json={"annotations": list(annotations)},
        )
        return result

    def review(
        self, task_id: int, task_image_id: int, label_id: int, action: str, comment: str = ""
    ) -> JSON:
        """``accept`` or ``reject`` one label of one image."""
        body = {"label_id": label_id, "action": action, "comment": comment}
        result: JSON = self.base.post(
            f"/label-tasks/{task_id}/images/{task_image_id}/reviews", json=body
        )
        return result

    def agreement(self, task_id: int, *, limit: int = 100, cursor: str | None = None) -> JSON:
        """One page of the labelers' agreement on the task's images, and per labeler."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        result: JSON = self.base.get(f"/label-tasks/{task_id}/agreement", params=params)
        return result
