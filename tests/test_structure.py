"""The house's structure: no import loop, the demo apart from the contract, params that stay data.

Imports are read from the source with ``ast`` (function-local imports included, ``if TYPE_CHECKING:``
blocks excluded since they never run), so a loop hidden inside a function is found too.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGES = ("segur_helpers", "demo_dpi")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: {modules it imports at run time}}`` over the project's packages."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {id(n) for node in ast.walk(tree)
                     if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                     for n in ast.walk(node)}
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in files:
                    name = name.rpartition(".")[0]
                # a module's own packages are imported before it: not an edge of a loop
                if name and name != module and not module.startswith(name + "."):
                    graph[module].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_loop():
    assert cycles(import_graph()) == []


def test_the_loop_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_demo_lives_apart_from_the_toolkit():
    graph = import_graph()
    toolkit = {m for m in graph if m.split(".")[0] == "segur_helpers"}
    demo_driver = {m for m in graph if m == "demo_dpi.driver" or m.startswith("demo_dpi.driver.")}
    target = {m for m in graph if m.split(".")[0] == "demo_dpi"} - demo_driver
    # the toolkit's core never imports the demo (it names it only as a registered entry point)
    assert {m: sorted(i for i in graph[m] if i.startswith("demo_dpi")) for m in toolkit
            if any(i.startswith("demo_dpi") for i in graph[m])} == {}
    # the demo target's servers never import the toolkit, nor the driver that drives them
    assert {m: sorted(i for i in graph[m] if i.startswith("segur_helpers") or i in demo_driver) for m in target
            if any(i.startswith("segur_helpers") or i in demo_driver for i in graph[m])} == {}
    # the demo driver reaches the target over the network only: it never imports the target's modules
    assert {m: sorted(i for i in graph[m] if i in target) for m in demo_driver
            if any(i in target for i in graph[m])} == {}
    # the contract folder holds no demo implementation
    assert not list((ROOT / "segur_helpers" / "drivers").glob("demo*.py"))


def test_validating_a_campaign_imports_no_driver_code():
    code = ("import sys; from segur_helpers.params import load_campaign; load_campaign('params/demo.yaml'); "
            "print(sorted(m for m in sys.modules if m.startswith(('segur_helpers.drivers', 'demo_dpi', "
            "'segur_helpers.scenarios.'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_named_drivers_are_registered_entry_points():
    from segur_helpers.drivers import DRIVERS_GROUP, IDENTITY_PROVIDERS_GROUP, load_driver_class, registered
    from segur_helpers.drivers.identity import identity_provider

    assert registered(DRIVERS_GROUP)["demo"] == "demo_dpi.driver:DemoDriver"
    assert load_driver_class("demo").__module__ == "demo_dpi.driver.driver"
    provider = identity_provider({"kind": "demo", "issuer": "http://127.0.0.1:1"}, secrets=None)
    assert type(provider).__name__ == "DemoIdentityProvider"
    assert "demo" in registered(IDENTITY_PROVIDERS_GROUP)
