"""Streamed ``.tar.gz`` archives of a version, and bundles that carry a version between servers.

Archives are written as the response is sent: each tar header comes from ``tarfile.TarInfo``,
file bodies are read from the blob store chunk by chunk, and everything passes through one zlib
stream in gzip format. (``tarfile``'s own stream mode writes a whole member per call, which
would force either a whole file in memory or a writer thread; this keeps one generator.)

A bundle is such an archive with ``bundle.json`` first (format, definition, version, lineage)
followed by ``files/<name>``. Importing reads it back as a stream (``tarfile`` mode ``r|gz``),
putting each file straight into the blob store, verified against the sha256 in ``bundle.json``.
"""

from __future__ import annotations

import json
import tarfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from django.db import transaction

from visionhub.accounts.models import User
from visionhub.core.errors import ApiError, Invalid
from visionhub.registry import lineage
from visionhub.registry.models import ModelDefinition, ModelVersion
from visionhub.registry.services import definitions, versions
from visionhub.registry.services.blobs import BlobGuard
from visionhub.storage.factory import get_store

BUNDLE_FORMAT = "visionhub-model-bundle"
BUNDLE_VERSION = 1
MANIFEST = "bundle.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
COMPRESS_LEVEL = 1  # model weights barely compress; speed matters more for hundreds of MB


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    chunks: Callable[[], Iterator[bytes]]
    mtime: float = 0.0


def stream_tar_gz(members: Iterable[Member]) -> Iterator[bytes]:
    """The bytes of a ``.tar.gz`` holding ``members``, produced chunk by chunk."""
    gz = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, 31)  # wbits 31: gzip container
    written = 0
    for member in members:
        info = tarfile.TarInfo(member.name)
        info.size = member.size
        info.mtime = int(member.mtime or time.time())
        info.mode = 0o644
        header = info.tobuf(format=tarfile.PAX_FORMAT)
        written += len(header)
        if out := gz.compress(header):
            yield out
        sent = 0
        for chunk in member.chunks():
            sent += len(chunk)
            if sent > member.size:
                raise RuntimeError(f"{member.name}: more bytes than announced")
            if out := gz.compress(chunk):
                yield out
        if sent != member.size:
            raise RuntimeError(f"{member.name}: {sent} bytes instead of {member.size}")
        written += sent
        padding = -written % tarfile.BLOCKSIZE
        written += padding
        if out := gz.compress(b"\0" * padding):
            yield out
    end = 2 * tarfile.BLOCKSIZE
    end += -(written + end) % tarfile.RECORDSIZE
    yield gz.compress(b"\0" * end)
    yield gz.flush()


def _blob_member(name: str, sha256: str, size: int, mtime: float) -> Member:
    return Member(name, size, lambda: get_store().iter_range(sha256), mtime)


def archive(version: ModelVersion) -> Iterator[bytes]:
    """The files of ``version`` as a streamed ``.tar.gz``."""
    mtime = version.uploaded_on.timestamp()
    files = sorted(version.files.all(), key=lambda f: f.name)
    return stream_tar_gz(_blob_member(f.name, f.sha256, f.size, mtime) for f in files)


def manifest(version: ModelVersion, *, viewer: User | None = None) -> dict[str, Any]:
    """What a bundle says about ``version``: its definition, metadata, files and lineage."""
    chain = lineage.lineage(version, viewer=viewer)
    me, ancestors = chain[0], chain[1:]
    definition = version.definition
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "exported_at": datetime.now().astimezone().isoformat(),
        "definition": {
            "name": definition.name,
            "owner": definition.owner.username,
            "description": definition.description,
            "task": definition.task,
            "classes": definition.classes,
            "input": definition.input_spec,
            "output": definition.output_spec,
            "files": definition.file_specs,
        },
        "version": {
            "version": version.version,
            "name": version.name,
            "uploaded_on": me["uploaded_on"],
            "details": version.details,
            "pretrained": version.pretrained_ref or None,
            "dataset_snapshot": version.dataset_snapshot,
            "training_snapshot": version.training_snapshot,
            "training": me["training"],
            "files": me["files"],
        },
        "lineage": [a for a in ancestors if a.get("accessible", True)],
    }


def bundle(version: ModelVersion, *, viewer: User | None = None) -> Iterator[bytes]:
    """``version`` as a streamed bundle: ``bundle.json`` then ``files/<name>``."""
    head = json.dumps(manifest(version, viewer=viewer), indent=2).encode()
    mtime = version.uploaded_on.timestamp()
    members = [Member(MANIFEST, len(head), lambda: iter([head]), mtime)]
    members += [
        _blob_member(f"files/{f.name}", f.sha256, f.size, mtime)
        for f in sorted(version.files.all(), key=lambda f: f.name)
    ]
    return stream_tar_gz(members)


# --- import --------------------------------------------------------------------------------


def _bad(message: str, **details: Any) -> Invalid:
    return Invalid("invalid_bundle", message, details=details)


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise _bad(f"a bundle starts with {MANIFEST}")
    if first.size > MAX_MANIFEST_BYTES:
        raise _bad(f"{MANIFEST} is too large")
    stream = tar.extractfile(first)
    assert stream is not None
    try:
        data = json.loads(stream.read())
    except ValueError:
        raise _bad(f"{MANIFEST} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise _bad("this is not a VisionHub model bundle")
    if data.get("format_version") != BUNDLE_VERSION:
        raise _bad("unsupported bundle version", format_version=data.get("format_version"))
    for key, kind in (("definition", dict), ("version", dict), ("lineage", list)):
        if not isinstance(data.get(key), kind):
            raise _bad(f"{MANIFEST}: {key!r} is missing or malformed")
    files = data["version"].get("files")
    if not isinstance(files, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("name"), str)
        and isinstance(f.get("sha256"), str)
        and isinstance(f.get("size"), int)
        for f in files
    ):
        raise _bad(f"{MANIFEST}: version files are malformed")
    return data


def _store_files(
    tar: tarfile.TarFile, expected: dict[str, dict[str, Any]], guard: BlobGuard
) -> list[versions.StoredFile]:
    stored: dict[str, versions.StoredFile] = {}
    # ``tar.next()``, not ``for member in tar``: iterating starts again from the first member.
    while (member := tar.next()) is not None:
        if not member.isfile() or not member.name.startswith("files/"):
            raise _bad(f"unexpected entry {member.name!r}")
        name = member.name.removeprefix("files/")
        spec = expected.get(name)
        if spec is None or name in stored:
            raise _bad(f"unexpected file {name!r}")
        if member.size != spec["size"]:
            raise _bad(f"file {name!r} has {member.size} bytes, not {spec['size']}")
        content = tar.extractfile(member)
        assert content is not None
        info = guard.put(content, expected_sha256=spec["sha256"], max_bytes=spec["size"])
        stored[name] = versions.StoredFile(name, info.sha256, info.size)
    missing = sorted(set(expected) - set(stored))
    if missing:
        raise _bad("the bundle is missing files", missing=missing)
    return [stored[name] for name in sorted(stored)]


def _link_parent(user: User, ref: str | None, chain: list[dict[str, Any]]) -> ModelVersion | None:
    """The local copy of the bundle's pretrained parent, if the caller has an identical one."""
    from visionhub.registry import access

    if not ref or not chain:
        return None
    try:
        parent = access.get_version_by_ref(user, ref)
    except ApiError:
        return None
    theirs = {(f.get("name"), f.get("sha256")) for f in chain[0].get("files", [])}
    ours = {(f.name, f.sha256) for f in parent.files.all()}
    return parent if theirs == ours else None


def import_bundle(source: IO[bytes], *, by: User, name: str | None = None) -> ModelVersion:
    """Recreate the version in bundle ``source`` for ``by``, with its definition and lineage.

    The model is created (as ``name`` or the bundle's name) unless ``by`` already has one of
    that name; the version keeps its number (``version_exists``, 409, if taken). The pretrained
    parent is linked when ``by`` can read an identical copy of it; the ancestry travels along as
    a snapshot in any case. A bad bundle is refused (``invalid_bundle``, 422) and leaves nothing.
    """
    try:
        tar = tarfile.open(fileobj=source, mode="r|gz")  # noqa: SIM115  (closed below)
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        raise _bad("not a .tar.gz file") from None
    with tar, BlobGuard() as guard:
        try:
            data = _read_manifest(tar)
            expected = {f["name"]: f for f in data["version"]["files"]}
            stored = _store_files(tar, expected, guard)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise _bad(f"the bundle is damaged: {exc}") from None
        return _record_import(data, stored, by=by, name=name)


def _record_import(
    data: dict[str, Any], stored: list[versions.StoredFile], *, by: User, name: str | None
) -> ModelVersion:
    spec = data["definition"]
    meta = data["version"]
    number = meta.get("version")
    if not isinstance(number, int) or number < 1:
        raise _bad("version number is missing")
    model_name = name or spec.get("name")
    if not isinstance(model_name, str):
        raise _bad("model name is missing")
    with transaction.atomic():
        definition = ModelDefinition.objects.filter(owner=by, name=model_name).first()
        if definition is None:
            definition = definitions.create_definition(
                by,
                name=model_name,
                input_spec=spec.get("input") or {},
                task=spec.get("task", "classification"),
                classes=spec.get("classes") or [],
                file_specs=spec.get("files"),
                description=str(spec.get("description", "")),
                output_spec=spec.get("output") or None,
            )
        versions.check_files(definition, {f.name: f.size for f in stored})
        chain = _clean_chain(data["lineage"])
        parent_ref = _text(meta.get("pretrained"), 250)
        provenance = versions.Provenance(
            pretrained=_link_parent(by, parent_ref, chain),
            details=meta.get("details") or {},
            dataset_snapshot=_dict_or_none(meta.get("dataset_snapshot")),
            training_snapshot=_dict_or_none(meta.get("training_snapshot")),
            pretrained_ref=parent_ref,
            lineage_snapshot=chain,
        )
        version = versions.record_version(
            definition,
            stored,
            by=by,
            name=versions.clean_version_name(_text(meta.get("name"), 100)),
            provenance=provenance,
            number=number,
        )
        uploaded_on = _parse_time(meta.get("uploaded_on"))
        if uploaded_on is not None:
            ModelVersion.objects.filter(pk=version.pk).update(uploaded_on=uploaded_on)
            version.uploaded_on = uploaded_on
    return version


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


_ENTRY_DICTS = ("details", "training", "training_snapshot", "dataset", "dataset_snapshot")
_ENTRY_TEXTS = ("owner", "name", "uploaded_on", "pretrained")


def _clean_chain(raw: list[Any]) -> list[dict[str, Any]]:
    """The ancestry of a bundle, keeping only well-typed fields of well-formed entries.

    It comes from another server (or a hand-edited file) and is served back by the lineage
    endpoint, so nothing in it may break that endpoint's schema.
    """
    chain: list[dict[str, Any]] = []
    for item in raw[: lineage.MAX_DEPTH]:
        if not isinstance(item, dict):
            continue
        model, number = item.get("model"), item.get("version")
        if not isinstance(model, str) or not isinstance(number, int) or isinstance(number, bool):
            continue
        entry: dict[str, Any] = {"model": model[:200], "version": number}
        for key in _ENTRY_TEXTS:
            entry[key] = _text(item.get(key), 250) or None
        for key in _ENTRY_DICTS:
            entry[key] = _dict_or_none(item.get(key))
        files = item.get("files")
        entry["files"] = [
            {"name": f["name"], "sha256": f["sha256"], "size": f["size"]}
            for f in (files if isinstance(files, list) else [])
            if isinstance(f, dict)
            and isinstance(f.get("name"), str)
            and isinstance(f.get("sha256"), str)
            and isinstance(f.get("size"), int)
        ]
        entry["accessible"] = True
        chain.append(entry)
    return chain


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
