"""The worker protocol of PRODUCT.md section 5 as typed values, parsed from and to JSON.

Parsing is strict about what the worker needs to do its job (a job without a dispatch token or an
image URL is a protocol error) and lenient about everything else: unknown fields are ignored and
the answers of ``heartbeat`` and ``results`` are read in every shape a server could reasonably give.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

Layout = Literal["NCHW", "NHWC", "flat"]
OutputKind = Literal["logits", "probabilities"]
Resize = Literal["stretch", "letterbox"]
Task = Literal["classification", "detection", "segmentation"]
BoxFormat = Literal["xyxy", "xywh", "cxcywh"]
RawLayout = Literal["4+C,A", "A,4+C", "A,5+C"]
RequestId = int | str

# Files that hold an ONNX model's external tensors are fetched beside it (names as written by
# onnx.save(..., save_as_external_data=True) and by common exporters).
EXTERNAL_DATA_SUFFIXES = (".data", ".onnx_data", ".bin", ".weights")

_SHA256 = re.compile(r"[0-9a-f]{64}")


class ProtocolError(ValueError):
    """The server sent something the worker protocol does not allow."""


def _float_tuple(value: Any, channels: int, name: str, default: float) -> tuple[float, ...]:
    """A per-channel value: one number for every channel, or exactly one per channel."""
    if value is None:
        return (default,) * channels
    if isinstance(value, int | float):
        return (float(value),) * channels
    if isinstance(value, Sequence) and not isinstance(value, str):
        numbers = tuple(float(v) for v in value)
        if len(numbers) == 1:
            return numbers * channels
        if len(numbers) == channels:
            return numbers
    raise ProtocolError(f"input.{name} must be a number or {channels} numbers, not {value!r}")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """How to turn an image into the model's input tensor.

    A pixel ``p`` (0..255) of channel ``c`` becomes ``(p * scale - mean[c]) / std[c]``. Layout
    ``flat`` is the ``NHWC`` tensor flattened per image (channels interleaved, row by row).
    """

    width: int
    height: int
    channels: int = 3
    layout: Layout = "NCHW"
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    output: OutputKind = "logits"
    resize: Resize = "stretch"
    pad: tuple[float, ...] = (114.0, 114.0, 114.0)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InputSpec:
        try:
            width = int(data["width"])
            height = int(data["height"])
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(f"input needs integer width and height: {data!r}") from None
        channels = int(data.get("channels") or 3)
        layout = cast(Layout, data.get("layout") or "NCHW")
        output = cast(OutputKind, data.get("output") or "logits")
        scale = data.get("scale")
        if width < 1 or height < 1 or channels not in (1, 3):
            raise ProtocolError(f"input size or channels out of range: {data!r}")
        if layout not in ("NCHW", "NHWC", "flat"):
            raise ProtocolError(f"input.layout must be NCHW, NHWC or flat, not {layout!r}")
        if output not in ("logits", "probabilities"):
            raise ProtocolError(f"input.output must be logits or probabilities, not {output!r}")
        resize = cast(Resize, data.get("resize") or "stretch")
        if resize not in ("stretch", "letterbox"):
            raise ProtocolError(f"input.resize must be stretch or letterbox, not {resize!r}")
        std = _float_tuple(data.get("std"), channels, "std", 1.0)
        if any(s == 0 or not math.isfinite(s) for s in std):
            raise ProtocolError(f"input.std must be finite and non-zero: {std!r}")
        return cls(
            width=width,
            height=height,
            channels=channels,
            layout=layout,
            scale=1.0 / 255.0 if scale is None else float(scale),
            mean=_float_tuple(data.get("mean"), channels, "mean", 0.0),
            std=std,
            output=output,
            resize=resize,
            pad=_float_tuple(data.get("pad"), channels, "pad", 114.0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "layout": self.layout,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "output": self.output,
            "resize": self.resize,
            "pad": list(self.pad),
        }

    @property
    def tensor_shape(self) -> tuple[int, ...]:
        """The shape of one image's tensor (without the batch dimension)."""
        c, h, w = self.channels, self.height, self.width
        if self.layout == "NCHW":
            return (c, h, w)
        if self.layout == "NHWC":
            return (h, w, c)
        return (c * h * w,)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where a detection or segmentation model's detections are (``registry.specs``)."""

    format: Literal["boxes", "raw"] = "boxes"
    box_format: BoxFormat = "xyxy"
    normalized: bool = False
    nms: bool = True
    score_threshold: float = 0.25
    iou_threshold: float = 0.45
    max_detections: int = 100
    boxes: str = "boxes"
    scores: str = "scores"
    labels: str = "labels"
    label_offset: int = 0
    tensor: str | None = None
    layout: RawLayout = "4+C,A"
    masks: str | None = None
    protos: str | None = None
    mask_threshold: float = 0.5

    @classmethod
    def from_json(cls, data: Mapping[str, Any], task: Task) -> OutputSpec:
        fmt = data.get("format", "boxes")
        if fmt not in ("boxes", "raw"):
            raise ProtocolError(f"output.format must be boxes or raw, not {fmt!r}")
        seg = task == "segmentation"
        try:
            spec = cls(
                format=fmt,
                box_format=data.get("box_format") or ("xyxy" if fmt == "boxes" else "cxcywh"),
                normalized=bool(data.get("normalized", False)),
                nms=bool(data.get("nms", fmt == "boxes")),
                score_threshold=float(data.get("score_threshold", 0.25)),
                iou_threshold=float(data.get("iou_threshold", 0.45)),
                max_detections=int(data.get("max_detections", 100)),
                boxes=str(data.get("boxes") or "boxes"),
                scores=str(data.get("scores") or "scores"),
                labels=str(data.get("labels") or "labels"),
                label_offset=int(data.get("label_offset", 0)),
                tensor=None if data.get("tensor") is None else str(data["tensor"]),
                layout=data.get("layout") or "4+C,A",
                masks=str(data.get("masks") or "masks") if seg and fmt == "boxes" else None,
                protos=str(data.get("protos") or "protos") if seg and fmt == "raw" else None,
                mask_threshold=float(data.get("mask_threshold", 0.5)),
            )
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"malformed output spec {data!r}: {exc}") from None
        if spec.box_format not in ("xyxy", "xywh", "cxcywh"):
            raise ProtocolError(f"output.box_format {spec.box_format!r} is unknown")
        if spec.layout not in ("4+C,A", "A,4+C", "A,5+C"):
            raise ProtocolError(f"output.layout {spec.layout!r} is unknown")
        if spec.max_detections < 1:
            raise ProtocolError("output.max_detections must be at least 1")
        return spec


@dataclass(frozen=True, slots=True)
class FileRef:
    name: str
    sha256: str
    url: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileRef:
        try:
            return cls(name=str(data["name"]), sha256=_sha(data["sha256"]), url=str(data["url"]))
        except (KeyError, TypeError):
            raise ProtocolError(f"a file needs name, sha256 and url: {data!r}") from None


@dataclass(frozen=True, slots=True)
class ModelRef:
    version_id: RequestId
    input: InputSpec
    classes: tuple[str, ...]
    files: tuple[FileRef, ...]
    task: Task = "classification"
    output: OutputSpec | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelRef:
        task = cast(Task, data.get("task") or "classification")
        if task not in ("classification", "detection", "segmentation"):
            raise ProtocolError(f"this worker cannot serve {task!r} models")
        try:
            classes = tuple(str(c) for c in data["classes"])
            files = tuple(FileRef.from_json(f) for f in data["files"])
            output = None
            if task != "classification":
                output = OutputSpec.from_json(data.get("output") or {}, task)
            model = cls(
                version_id=_request_id(data["version_id"]),
                input=InputSpec.from_json(data["input"]),
                classes=classes,
                files=files,
                task=task,
                output=output,
            )
        except (KeyError, TypeError):
            raise ProtocolError(
                f"a model needs version_id, input, classes and files: {data!r}"
            ) from None
        if not classes:
            raise ProtocolError("a model needs at least one class")
        model.onnx_file  # noqa: B018 (validates now rather than at inference time)
        return model

    @property
    def onnx_file(self) -> FileRef:
        """The file named ``model.onnx``, else the first file ending in ``.onnx``."""
        for ref in self.files:
            if ref.name == "model.onnx":
                return ref
        for ref in self.files:
            if ref.name.lower().endswith(".onnx"):
                return ref
        raise ProtocolError(f"model version {self.version_id} has no .onnx file")

    @property
    def runtime_files(self) -> tuple[FileRef, ...]:
        """The ONNX file and the files that may hold its external data."""
        main = self.onnx_file
        extra = tuple(
            ref
            for ref in self.files
            if ref is not main and ref.name.lower().endswith(EXTERNAL_DATA_SUFFIXES)
        )
        return (main, *extra)


@dataclass(frozen=True, slots=True)
class ImageRef:
    sha256: str
    url: str


@dataclass(frozen=True, slots=True)
class Job:
    """One classification request leased to this worker."""

    request_id: RequestId
    dispatch_token: str
    lease_expires_at: datetime | None
    model: ModelRef
    image: ImageRef

    @classmethod
    def from_json(cls, data: Mapping[str, Any], models: ModelMemo | None = None) -> Job:
        """One job of a claim answer; ``models`` shares one ``ModelRef`` among the jobs of an
        answer that name the same model (the usual case), instead of parsing it for each."""
        token = data.get("dispatch_token")
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"a job needs a dispatch_token: {str(data)[:500]}")
        try:
            image = data["image"]
            model = data["model"]
            return cls(
                request_id=_request_id(data["request_id"]),
                dispatch_token=token,
                lease_expires_at=parse_time(data.get("lease_expires_at")),
                model=models.get(model) if models is not None else ModelRef.from_json(model),
                image=ImageRef(sha256=_sha(image["sha256"]), url=str(image["url"])),
            )
        except (KeyError, TypeError):
            raise ProtocolError(f"malformed job: {str(data)[:500]}") from None

    @property
    def lease(self) -> Lease:
        return Lease(self.request_id, self.dispatch_token)


class ModelMemo:
    """``ModelRef.from_json`` for the jobs of one claim answer, parsing each distinct model once.

    Models are compared by their JSON (a dict comparison in C), so two versions never share one.
    """

    def __init__(self) -> None:
        self._seen: list[tuple[Mapping[str, Any], ModelRef]] = []

    def get(self, data: Any) -> ModelRef:
        for known, ref in self._seen:
            if known == data:
                return ref
        ref = ModelRef.from_json(data)
        self._seen.append((data, ref))
        return ref


@dataclass(frozen=True, slots=True)
class Lease:
    request_id: RequestId
    dispatch_token: str

    def to_json(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "dispatch_token": self.dispatch_token}


@dataclass(frozen=True, slots=True)
class Success:
    lease: Lease
    label: str
    scores: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {**self.lease.to_json(), "label": self.label, "scores": self.scores}


@dataclass(frozen=True, slots=True)
class Detected:
    """A detection or segmentation answer: ``{label, score, box: [x, y, w, h]}`` per object,
    in the original image's pixels, with ``mask`` (COCO RLE) for segmentation."""

    lease: Lease
    detections: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {**self.lease.to_json(), "detections": self.detections}


@dataclass(frozen=True, slots=True)
class Failure:
    lease: Lease
    error: str

    def to_json(self) -> dict[str, Any]:
        return {**self.lease.to_json(), "error": self.error[:2000]}


Result = Success | Detected | Failure


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """How the worker names itself in claims (for the server's statistics)."""

    name: str
    version: str
    site: str | None = None
    flavor: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.site:
            data["site"] = self.site
        if self.flavor:
            data["flavor"] = self.flavor
        return data


@dataclass(frozen=True, slots=True)
class Verdict:
    """The server's answer about one lease or result: kept (``ok``) or not, and why."""

    request_id: RequestId
    ok: bool
    reason: str | None = None
    lease_expires_at: datetime | None = None


@dataclass(slots=True)
class Verdicts:
    by_request: dict[str, Verdict] = field(default_factory=dict)

    def get(self, request_id: RequestId) -> Verdict | None:
        return self.by_request.get(str(request_id))


_OK_WORDS = frozenset({"ok", "accepted", "extended", "renewed", "alive", "held"})


def parse_verdicts(data: Any) -> Verdicts:
    """Read a heartbeat or results answer: per item ok (``ok``/``accepted``…) or not.

    Accepts ``{"leases"|"results"|"items": [...]}`` or a bare list, where each item has a
    ``request_id`` and a ``status`` (or ``state``/``result``/``outcome``) word or an ``ok``/
    ``accepted`` boolean; and ``{"ok"|"accepted": [ids], "lost"|"rejected": [ids]}``.
    Anything unreadable is skipped, never fatal.
    """
    verdicts = Verdicts()
    items: Any = data
    if isinstance(data, Mapping):
        for key in ("results", "leases", "items"):
            if isinstance(data.get(key), list):
                items = data[key]
                break
        else:
            for key, ok in (("ok", True), ("accepted", True), ("lost", False), ("rejected", False)):
                for rid in data.get(key) or []:
                    if isinstance(rid, int | str):
                        verdicts.by_request[str(rid)] = Verdict(rid, ok, None if ok else key)
            return verdicts
    if not isinstance(items, list):
        return verdicts
    for item in items:
        if not isinstance(item, Mapping) or "request_id" not in item:
            continue
        verdict = _verdict(item)
        verdicts.by_request[str(verdict.request_id)] = verdict
    return verdicts


def _verdict(item: Mapping[str, Any]) -> Verdict:
    rid = _request_id(item["request_id"])
    ok: bool | None = None
    for key in ("ok", "accepted", "extended"):
        if isinstance(item.get(key), bool):
            ok = item[key]
            break
    word: str | None = None
    for key in ("status", "state", "result", "outcome"):
        if isinstance(item.get(key), str):
            word = item[key]
            break
    if ok is None:
        ok = word is not None and word.lower() in _OK_WORDS
    reason = item.get("reason") or item.get("code") or (None if ok else word)
    return Verdict(
        request_id=rid,
        ok=ok,
        reason=None if reason is None else str(reason),
        lease_expires_at=parse_time(item.get("lease_expires_at")),
    )


def parse_jobs(data: Any) -> list[Job]:
    """The jobs of a claim answer ``{"jobs": [...]}``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), list):
        raise ProtocolError(f"a claim answer needs a jobs list: {str(data)[:500]}")
    models = ModelMemo()
    return [Job.from_json(job, models) for job in data["jobs"]]


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` allowed) as an aware datetime; None if absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _request_id(value: Any) -> RequestId:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ProtocolError(f"an id must be an integer or a string, not {value!r}")
    return value


def _sha(value: Any) -> str:
    text = str(value).lower()
    if _SHA256.fullmatch(text) is None:
        raise ProtocolError(f"not a sha256: {value!r}")
    return text
