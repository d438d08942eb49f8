"""The package's import graph: no circles, and no app importing from a layer above it.

Imports inside functions count too: a lazy import is still a dependency, only hidden.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

# Circles that other engineers' work brought in while this test was written, each with the
# engineer who removes it; a circle not listed here fails, and so does a listed one that is gone.
KNOWN_CIRCLES: dict[frozenset[str], str] = {
    frozenset({"labeling.services.projects", "labeling.tasks"}): "labeling",
    frozenset({"evaluation.services", "evaluation.tasks"}): "eval",
    frozenset({"web.views.auth", "web.views.oidc"}): "web-a",
}

# Apps below others: they must import nothing from the apps above them.
BELOW = {
    "core": {"accounts", "datasets", "registry", "inference", "labeling", "benchmarks", "api"},
    "storage": {"accounts", "datasets", "registry", "inference", "labeling", "benchmarks", "api"},
    "accounts": {"datasets", "registry", "inference", "labeling", "benchmarks", "api"},
    "datasets": {"registry", "inference", "labeling", "api"},
    "registry": {"inference", "labeling", "api"},
    "inference": {"labeling", "api"},
    "worker": {"api", "core", "accounts", "datasets", "registry", "inference", "labeling"},
    "client": {"api", "core", "accounts", "datasets", "registry", "inference", "labeling"},
}


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module (``datasets.api``) → the package's modules it imports, anywhere in its code."""
    modules: dict[str, Path] = {}
    for path in (SRC / "visionhub").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(SRC / "visionhub").with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    edges: dict[str, frozenset[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    target = ".".join(p for p in (base, node.module or "") if p)
                else:
                    target = (node.module or "").removeprefix("visionhub").lstrip(".")
                    if not (node.module or "").startswith("visionhub"):
                        continue
                found.update([target, *(f"{target}.{a.name}".lstrip(".") for a in node.names)])
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.removeprefix("visionhub.")
                    for a in node.names
                    if a.name.startswith("visionhub.")
                )
        edges[name] = frozenset(m for m in found if m in modules and m not in ("", name))
    return edges


def circles() -> set[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.add(frozenset(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others() -> None:
    found = circles()
    new = [sorted(c) for c in found if c not in KNOWN_CIRCLES]
    assert not new, f"import circles: {new} (break them with a signal or a small interface)"
    gone = [sorted(c) for c in KNOWN_CIRCLES if c not in found]
    assert not gone, f"circles no longer there: remove them from KNOWN_CIRCLES: {gone}"


def test_no_app_imports_from_the_layers_above_it() -> None:
    upward = sorted(
        f"{module} → {target}"
        for module, targets in graph().items()
        for target in targets
        if target.split(".")[0] in BELOW.get(module.split(".")[0], set())
    )
    assert not upward, f"upward imports: {upward}"
