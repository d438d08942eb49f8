"""The lineage of a model version laid out as a graph, for an SVG drawn by the template.

Columns run from the oldest pretrained ancestor (left) to the version itself (right); each
version has its training above it and its dataset below it. Positions are computed here so the
template only draws (and escapes) what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch, reverse

NODE_WIDTH = 200
NODE_HEIGHT = 46
COLUMN_GAP = 70
MARGIN = 16
ROWS = {"training": 0, "version": 1, "dataset": 2}
ROW_GAP = 40
MAX_LABEL = 28


@dataclass(frozen=True)
class Node:
    kind: str  # version, training or dataset
    x: int
    y: int
    label: str
    sublabel: str
    href: str | None
    current: bool = False

    @property
    def width(self) -> int:
        return NODE_WIDTH

    @property
    def height(self) -> int:
        return NODE_HEIGHT

    @property
    def text_x(self) -> int:
        return self.x + 10

    @property
    def label_y(self) -> int:
        return self.y + 19

    @property
    def sublabel_y(self) -> int:
        return self.y + 36


@dataclass(frozen=True)
class Edge:
    kind: str  # pretrained, training or dataset
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass
class Graph:
    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _url(name: str, *args: Any) -> str | None:
    """The page's URL, or None where that page does not exist (yet) in this server."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _top(row: str) -> int:
    return MARGIN + ROWS[row] * (NODE_HEIGHT + ROW_GAP)


def _version_node(item: dict[str, Any], x: int, current: bool) -> Node:
    label = f"{item.get('model', '?')}:{item.get('version', '?')}"
    if not item.get("accessible", True):
        return Node("version", x, _top("version"), _short(label), "not shared with you", None)
    owner = item.get("owner")
    live = item.get("source", "live") == "live" and owner
    href = _url("web:model-version", f"{owner}~{item['model']}", item["version"]) if live else None
    sublabel = item.get("name") or ("snapshot" if not live else f"by {owner}")
    return Node("version", x, _top("version"), _short(label), _short(sublabel), href, current)


def _training_node(item: dict[str, Any], x: int) -> Node | None:
    live = item.get("training")
    training = live or item.get("training_snapshot")
    if not training:
        return None
    label = training.get("name") or f"training {training.get('id', '')}".strip()
    sublabel = f"{training.get('state', '')} {round(100 * float(training.get('progress') or 0))} %"
    href = _url("web:training", live["id"]) if live else None
    return Node("training", x, _top("training"), _short(label), sublabel, href)


def _dataset_node(item: dict[str, Any], x: int) -> Node | None:
    live = item.get("dataset")
    dataset = live or item.get("dataset_snapshot")
    if not dataset:
        return None
    label = dataset.get("display_name") or dataset.get("name") or "dataset"
    images = dataset.get("num_images")
    sublabel = f"{images} images" if images is not None else str(dataset.get("owner", ""))
    href = _url("web:dataset", live["id"]) if live else None
    return Node("dataset", x, _top("dataset"), _short(label), sublabel, href)


def layout(chain: list[dict[str, Any]]) -> Graph:
    """``chain`` as ``registry.lineage.lineage`` gives it (the version first, then its
    ancestors nearest first), positioned oldest to newest, left to right."""
    ordered = list(reversed(chain))
    columns = max(1, len(ordered))
    graph = Graph(
        width=2 * MARGIN + columns * NODE_WIDTH + (columns - 1) * COLUMN_GAP,
        height=_top("dataset") + NODE_HEIGHT + MARGIN,
    )
    previous: Node | None = None
    for index, item in enumerate(ordered):
        x = MARGIN + index * (NODE_WIDTH + COLUMN_GAP)
        version = _version_node(item, x, current=index == len(ordered) - 1)
        graph.nodes.append(version)
        middle = x + NODE_WIDTH // 2
        if previous is not None:
            y = version.y + NODE_HEIGHT // 2
            graph.edges.append(Edge("pretrained", previous.x + NODE_WIDTH, y, x, y))
        training = _training_node(item, x)
        if training is not None:
            graph.nodes.append(training)
            graph.edges.append(
                Edge("training", middle, training.y + NODE_HEIGHT, middle, version.y)
            )
        dataset = _dataset_node(item, x)
        if dataset is not None:
            graph.nodes.append(dataset)
            graph.edges.append(Edge("dataset", middle, dataset.y, middle, version.y + NODE_HEIGHT))
        previous = version
    return graph
