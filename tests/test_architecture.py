"""The layers of kmsmote's Python code: no import cycle, plan below front ends.

Parses every module of the package (nothing is imported), builds the graph
of imports between kmsmote's own modules, at module level and inside
functions alike, and checks its shape (docs/architecture.md).
"""

import ast
import re
from pathlib import Path

import pytest

_SOURCE = Path(__file__).resolve().parents[1] / "kmsmote"
if (_SOURCE / "_plan.py").exists():
    PACKAGE = _SOURCE
else:
    # The tests run against an installed wheel, away from the checkout
    # (tools/test_wheel.sh): parse the installed modules (no .pyx there).
    import kmsmote

    PACKAGE = Path(kmsmote.__file__).resolve().parent

# Modules that take data from users (front ends): the plan, the data
# preparation and the output assembly import none of them.
FRONT_ENDS = {"kmsmote._kmeans_smote", "kmsmote.dask", "kmsmote._cli", "kmsmote._categorical"}


def _module_name(path):
    parts = ["kmsmote", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root=PACKAGE):
    """{module name: path} of every module of the package: .py files,
    Cython extensions (.pyx) and the build's generated _build_info."""
    files = sorted(root.rglob("*.py")) + sorted(root.rglob("*.pyx"))
    modules = {_module_name(p): p for p in files}
    # An installed package has the compiled extensions instead of their
    # .pyx (_kmeans.cpython-311-x86_64-linux-gnu.so): nodes without source.
    for ext in sorted(root.rglob("*.so")) + sorted(root.rglob("*.pyd")):
        stem = ext.with_name(ext.name.split(".")[0] + ".pyx")
        modules.setdefault(_module_name(stem), stem)
    modules["kmsmote._build_info"] = root / "_build_info.py.in"
    return modules


def _python_source(path):
    """The text to parse: a .py file, or the Python imports of a .pyx
    file (its other lines are Cython)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if path.suffix == ".pyx":
        lines = [line.strip() for line in text.splitlines()]
        return "\n".join(line for line in lines
                         if re.match(r"(from\s+\S+\s+)?import\s", line) and "(" not in line)
    if path.suffix == ".in":
        return ""
    return text


def _resolve(name, level, current, is_package):
    if level == 0:
        return name
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def import_graph(modules):
    """{module: set of kmsmote modules it imports} (Python modules only;
    an import of a compiled extension names no node)."""
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(_python_source(path), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module or "", node.level, name, is_package)
                # `from pkg import sub` imports the submodule when there is one.
                candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
                candidates = [c for c in candidates[:-1] if c in modules] or [base]
            else:
                continue
            for target in candidates:
                # `import kmsmote.x.y` and a name inside a module: the module.
                while target and target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _reaches(graph, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.fixture(scope="module")
def graph():
    return import_graph(_modules())


def test_the_graph_sees_the_package(graph):
    # The parser finds the imports it must (a check of the check).
    assert "kmsmote._plan" in graph["kmsmote._kmeans_smote"]
    assert "kmsmote._kmeans_smote" in graph["kmsmote"]
    assert any(m.startswith("kmsmote._cli") for m in graph)


def test_no_import_cycle(graph):
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("module", ["kmsmote._plan", "kmsmote._data", "kmsmote._output",
                                    "kmsmote._errors", "kmsmote._progress"])
def test_lower_layers_import_no_front_end(graph, module):
    reached = _reaches(graph, module)
    assert not {m for m in reached if m in FRONT_ENDS or m.startswith("kmsmote._cli.")}, reached


def test_plan_imports_only_the_errors(graph):
    assert graph["kmsmote._plan"] <= {"kmsmote._errors"}


def test_categorical_does_not_import_the_estimator(graph):
    assert "kmsmote._kmeans_smote" not in _reaches(graph, "kmsmote._categorical")


def test_cycle_through_a_function_level_import_is_found(tmp_path):
    # The shape the categorical mixin had: a module-level import one way, an
    # import inside a function the other way.
    pkg = tmp_path / "kmsmote"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from ._est import Est\n")
    (pkg / "_est.py").write_text("from ._mixin import Mixin\n\nclass Est(Mixin):\n    pass\n")
    (pkg / "_mixin.py").write_text(
        "class Mixin:\n    def f(self):\n        from ._est import Est\n        return Est\n")
    modules = {_module_name_in(pkg, p): p for p in sorted(pkg.rglob("*.py"))}
    assert find_cycle(import_graph(modules)) in (
        ["kmsmote._est", "kmsmote._mixin", "kmsmote._est"],
        ["kmsmote._mixin", "kmsmote._est", "kmsmote._mixin"],
    )


def _module_name_in(root, path):
    parts = ["kmsmote", *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _self_methods_called(tree):
    """Names ``x`` of every ``self.x(...)`` / ``super().x(...)`` call."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (isinstance(owner, ast.Name) and owner.id == "self") or (
                    isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                    and owner.func.id == "super"):
                names.add(node.func.attr)
    return names


def _methods_defined(tree):
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_dask_uses_the_plan_not_the_estimators_private_methods():
    dask_tree = ast.parse((PACKAGE / "dask.py").read_text(encoding="utf-8"))
    estimator_tree = ast.parse((PACKAGE / "_kmeans_smote.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(dask_tree)
                if isinstance(node, ast.ImportFrom) and node.module == "_kmeans_smote"
                for alias in node.names}
    assert imported == {"KMeansSMOTE"}
    # Inherited private methods dask calls: parameter validation only.
    inherited = (_self_methods_called(dask_tree) & _methods_defined(estimator_tree)
                 ) - _methods_defined(dask_tree) - {"__init__"}
    assert inherited <= {"_validate_estimator"}, inherited
    assert "kmsmote._plan" in import_graph(_modules())["kmsmote.dask"]
