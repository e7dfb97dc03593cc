"""The shape of the code (../shared/DESIGN.md): imports run one way, privates stay private.

These tests read neurotk's source with :mod:`ast` (nothing is imported), so they see every
import, function-local ones included:

- no import cycle between neurotk's modules;
- plotting imports nothing that computes (no analysis, loader or dataset);
- no analysis (rsa, encoding, connectome, clustering) imports a loader (neurotk.io), and
  no loader imports an analysis;
- no module takes another module's ``_private`` name;
- no module is named like a public name of its package (``import neurotk.rsa.rdm`` can
  never mean two things);
- two modules do not export different objects under one public name (``noise_ceiling``
  of rsa and of encoding excepted: both must keep their name, and each is the noise
  ceiling of what its analysis scores).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "neurotk"
ANALYSES = ("neurotk.rsa", "neurotk.encoding", "neurotk.connectome", "neurotk.clustering")
#: What plotting may import: the errors, the validator, the data model and plotting itself.
PLOTTING_MAY_IMPORT = ("neurotk.errors", "neurotk._validation", "neurotk.recording", "neurotk.plotting", "neurotk.utils")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _type_checking_nodes(tree) -> set:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _imports(name: str):
    """(target module, imported name or None, line) for every neurotk import in ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rsplit(".", 1)[0]
    skip = _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "neurotk":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "neurotk":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in MODULES:  # ``from . import nwb``: the submodule itself
                    yield sub, None, node.lineno
                else:
                    yield source, alias.name, node.lineno


GRAPH = {name: sorted({target for target, _, _ in _imports(name) if target in MODULES and target != name})
         for name in MODULES}


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_source_was_found():
    assert "neurotk.recording" in MODULES and len(MODULES) > 30


def test_no_import_cycle():
    # Tarjan's strongly connected components over every import, function-local ones included
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_plotting_imports_nothing_that_computes():
    bad = [(name, target) for name in MODULES if _within(name, ("neurotk.plotting",))
           for target in GRAPH[name] if not _within(target, PLOTTING_MAY_IMPORT)]
    assert bad == [], f"plotting imports: {bad}"


#: Data containers that loaders build although they live in an analysis package: the RDM
#: container, which io/rdmfiles.py fills from RDM files (DESIGN.md, Layout: "rdmfiles.py RDMs
#: saved by other tools -> rsa.RDM").
LOADERS_MAY_BUILD = ("neurotk.rsa.rdms",)


def test_no_analysis_imports_a_loader_and_no_loader_an_analysis():
    bad = [(name, target) for name in MODULES if _within(name, ANALYSES)
           for target in GRAPH[name] if _within(target, ("neurotk.io",))]
    bad += [(name, target) for name in MODULES if _within(name, ("neurotk.io",))
            for target in GRAPH[name] if _within(target, ANALYSES) and target not in LOADERS_MAY_BUILD]
    assert bad == [], f"analysis <-> loader imports: {bad}"


def _module_aliases(name: str) -> dict:
    """Local name -> neurotk module, for ``from . import nwb`` and ``import neurotk.io.nwb as nwb``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rsplit(".", 1)[0]
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in MODULES})
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                source = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            aliases.update({a.asname or a.name: f"{source}.{a.name}" for a in node.names
                            if f"{source}.{a.name}" in MODULES})
    return aliases


def test_no_module_takes_another_modules_private_names():
    bad = []
    for name in MODULES:
        for target, imported, line in _imports(name):
            if imported and imported.startswith("_") and not imported.startswith("__") and target != name:
                bad.append(f"{name}:{line} imports {imported} from {target}")
        aliases = _module_aliases(name)
        for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                bad.append(f"{name}:{node.lineno} uses {node.value.id}.{node.attr} of {aliases[node.value.id]}")
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize("package", sorted({n for n in MODULES if _is_package(n)}))
def test_no_module_is_named_like_a_public_name_of_its_package(package):
    pkg = importlib.import_module(package)
    public = set(getattr(pkg, "__all__", ()))
    clashes = [sub for sub in MODULES if sub.rsplit(".", 1)[0] == package and not _is_package(sub)
               and sub.rsplit(".", 1)[1] in public
               and getattr(pkg, sub.rsplit(".", 1)[1]) is not importlib.import_module(sub)]
    assert clashes == [], f"modules named like a public name of {package}: {clashes}"


def test_subpackages_do_not_export_different_classes_under_one_name():
    seen, bad = {}, []
    for package in sorted(n for n in MODULES if _is_package(n) and n != "neurotk"):
        pkg = importlib.import_module(package)
        for public in getattr(pkg, "__all__", ()):
            obj = getattr(pkg, public, None)
            if not isinstance(obj, type):
                continue
            if public in seen and seen[public][1] is not obj:
                bad.append(f"{public}: {seen[public][0]} and {package}")
            seen.setdefault(public, (package, obj))
    assert bad == [], f"one class name, two classes: {bad}"


#: Public names two modules may give to different objects (see the module docstring).
SHARED_NAMES = {"noise_ceiling"}


def test_modules_do_not_export_different_objects_under_one_name():
    seen, bad = {}, []
    for name in sorted(MODULES):
        if name == "neurotk" or name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public, None)
            if obj is None or isinstance(obj, type(module)) or public in SHARED_NAMES or public.isupper():
                continue
            if public in seen and seen[public][1] is not obj:
                bad.append(f"{public}: {seen[public][0]} and {name}")
            seen.setdefault(public, (name, obj))
    assert bad == [], f"one public name, two objects: {bad}"
