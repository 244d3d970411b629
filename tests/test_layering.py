"""Data flows one way: no module imports from a later stage (read from the source, lazy
imports inside functions included).

Stages, in the order of the flow (a module may import its own stage and earlier ones):

0. foundation (top-level modules): errors, argument checks, atomic files, progress, version
1. ``data/``: loading, windows, splits, simulated datasets
2. ``statistics/``: the statistics of windows (used by training's validation and by evaluation)
3. ``gan/`` | ``baselines/`` -- side by side, neither imports the other
4. ``evaluation/`` (comparison, memorisation, reports, figures, seam test) | ``importance/``
   (critic importance maps) -- side by side
5. ``export/`` (exporters and the TF-free rig runtime; top-level folder, installed as
   ``spikegan_tf.export``)
6. ``cli/``: the command line
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STAGES = {
    "foundation": (0, ["errors", "params", "protocol", "validation", "_atomic", "_lazy",
                       "_progress", "_tf_cpu", "_tf_quiet", "_version"]),
    "data": (1, ["data"]),
    "statistics": (2, ["statistics"]),
    "gan": (3, ["gan"]),
    "baselines": (3, ["baselines"]),
    "evaluation": (4, ["evaluation"]),
    "importance": (4, ["importance"]),
    "export": (5, ["export"]),
    "cli": (6, ["cli", "__main__"]),
}


def _stage(module: str) -> str | None:
    """The stage of ``spikegan_tf.<module...>`` (None for the package root)."""
    parts = module.split(".")[1:]
    if not parts:
        return None
    for stage, (_, names) in STAGES.items():
        if parts[0] in names:
            return stage
    raise AssertionError(f"module spikegan_tf.{'.'.join(parts)} belongs to no stage: add it "
                         "to STAGES in tests/test_layering.py and to ARCHITECTURE.md")


def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "spikegan_tf").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in (ROOT / "export").rglob("*.py"):
        parts = ("spikegan_tf",) + path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "spikegan_tf":  # from spikegan_tf import rundir -> spikegan_tf.gan.rundir
                found |= {f"spikegan_tf.{a.name}" for a in node.names}
            elif target.startswith("spikegan_tf."):
                found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("spikegan_tf.")}
    return found


def test_every_module_belongs_to_a_stage():
    for module in _modules():
        _stage(module)  # raises with instructions when a module is unplaced


def test_no_module_imports_a_later_stage():
    bad = []
    for module, path in _modules().items():
        here = _stage(module)
        if here is None or here == "cli":
            continue
        for target in _imports(module, path):
            there = _stage(target)
            if there is None:
                continue
            if STAGES[there][0] > STAGES[here][0] or (
                    STAGES[there][0] == STAGES[here][0] and there != here):
                bad.append(f"{module} ({here}) imports {target} ({there})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", ["spikegan_tf.export.runtime", "spikegan_tf.export.stream",
                                    "spikegan_tf.export.latency",
                                    "spikegan_tf.export.raster_runtime"])
def test_rig_runtime_imports_nothing_that_needs_tensorflow(module):
    """The rig modules' package imports, followed transitively, never reach TensorFlow."""
    modules = _modules()
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen or m not in modules:
            continue
        seen.add(m)
        source = modules[m].read_text()
        top_level = {n.names[0].name for n in ast.parse(source).body
                     if isinstance(n, ast.Import)}
        assert not ({"tensorflow", "keras"} & top_level), f"{m} imports TensorFlow"
        todo += [t for t in _imports(m, modules[m])]
    assert "spikegan_tf.gan.networks" not in seen and "spikegan_tf.gan.trainer" not in seen, sorted(seen)
