"""Reading an ImageFolder: ``DIR/<class>/…/<image>`` and loose images in ``DIR`` itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# As torchvision's ImageFolder: other files (notes, hidden files) are not images.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif"}
)


@dataclass(frozen=True)
class FolderImage:
    path: Path
    relative: str  # POSIX path relative to the folder: the image's file name in the dataset
    label: str | None  # the class folder, or None for a loose image


def scan(root: Path) -> list[FolderImage]:
    """Every image under ``root``, sorted by relative path; hidden entries are skipped."""
    found: list[FolderImage] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file() or path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        label = relative.parts[0] if len(relative.parts) > 1 else None
        found.append(FolderImage(path, relative.as_posix(), label))
    return found
