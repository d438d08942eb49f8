"""A dataset's flags as TSV (seed 004's ``flag_export_link``): written streamed, read back.

The file has a header and one line per image, in index order::

    image_id	filename	flag	flag_ts
    17	xray-0001.png	1	2026-12-01T22:10:03.120000+00:00
    18	xray-0002.png	0

Reading a file back sets each named image's flag and flag time; lines that name no image of
the dataset, or cannot be read, are skipped and counted, never fatal: a file exported from one
dataset can be applied to a copy of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from visionhub.core.errors import Invalid
from visionhub.datasets.models import Dataset, Image

HEADER = ("image_id", "filename", "flag", "flag_ts")
CHUNK = 2000
MAX_LINE = 10_000
MAX_REPORTED = 20


def flag_link(dataset: Dataset) -> str:
    """The stable link of a dataset's flags (``DatasetOut.flag_export_link``)."""
    return f"/api/v1/datasets/{dataset.pk}/flags.tsv"


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def export_flags(dataset: Dataset) -> Iterator[str]:
    """The TSV of every image's flag, streamed in chunks read by keyset on ``idx``."""
    yield "\t".join(HEADER) + "\n"
    after = -1
    while True:
        rows = list(
            Image.objects.filter(dataset=dataset, idx__gt=after)
            .order_by("idx")
            .values_list("idx", "pk", "filename", "flag", "flag_ts")[:CHUNK]
        )
        if not rows:
            return
        lines = []
        for _idx, pk, filename, flag, flag_ts in rows:
            when = flag_ts.isoformat() if flag_ts is not None else ""
            lines.append(f"{pk}\t{_clean(filename)}\t{flag}\t{when}\n")
        yield "".join(lines)
        after = rows[-1][0]


@dataclass
class FlagImport:
    updated: int = 0
    skipped: int = 0
    problems: list[dict[str, object]] = field(default_factory=list)

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append({"line": line, "reason": reason})


def _parse(fields: list[str]) -> tuple[int, int, datetime | None]:
    image_id, flag = int(fields[0]), int(fields[2])
    if not 0 < image_id < 2**63:
        raise ValueError("image_id is out of range")
    if flag not in (0, 1, 2):
        raise ValueError("flag must be 0, 1 or 2")
    when = datetime.fromisoformat(fields[3]) if len(fields) > 3 and fields[3].strip() else None
    if when is not None and timezone.is_naive(when):
        raise ValueError("flag_ts needs a time zone")
    return image_id, flag, when


def import_flags(dataset: Dataset, source: Iterable[bytes]) -> FlagImport:
    """Apply a flags TSV to ``dataset`` (422 ``invalid_flags_file`` without the header line).

    A flag without a time gets the time of the import (none for flag 0). Lines naming no
    image of the dataset and unreadable lines are skipped, counted and the first 20 reported.
    Batches of 2000 lines are applied one transaction each.
    """
    lines = (raw.decode("utf-8", errors="replace") for raw in source)
    header = next(lines, "").rstrip("\r\n").split("\t")
    if tuple(header[:3]) != HEADER[:3]:
        raise Invalid("invalid_flags_file", "the first line must be: " + "\t".join(HEADER))
    report = FlagImport()
    batch: dict[int, tuple[int, int, datetime | None]] = {}
    for number, line in enumerate(lines, start=2):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        if len(text) > MAX_LINE:
            report.skip(number, "the line is too long")
            continue
        try:
            image_id, flag, when = _parse(text.split("\t"))
        except (ValueError, IndexError) as exc:
            report.skip(number, f"unreadable: {str(exc)[:100]}")
            continue
        batch[image_id] = (number, flag, when)
        if len(batch) >= CHUNK:
            _apply(dataset, batch, report)
            batch = {}
    _apply(dataset, batch, report)
    return report


def _apply(
    dataset: Dataset, batch: dict[int, tuple[int, int, datetime | None]], report: FlagImport
) -> None:
    if not batch:
        return
    now = timezone.now()
    with transaction.atomic():
        images = list(Image.objects.filter(dataset=dataset, pk__in=list(batch)).only("pk"))
        found = {image.pk for image in images}
        for image_id, (line, _, _) in batch.items():
            if image_id not in found:
                report.skip(line, f"no image {image_id} in this dataset")
        for image in images:
            _, flag, when = batch[image.pk]
            image.flag = flag
            image.flag_ts = when if when is not None else (now if flag else None)
        Image.objects.bulk_update(images, ["flag", "flag_ts"], batch_size=500)
    report.updated += len(images)
