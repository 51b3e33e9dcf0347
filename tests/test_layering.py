"""The import graph keeps its layers: leaf packages import no app, and no module imports itself
back through others.

Imports are read from the source (top level and inside functions alike), so an import tucked
into a function to dodge a cycle counts as the cycle it is.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("actionhub", "api", "approvals", "audit", "chat", "health", "lib", "llm", "realtime", "rules", "screening")
APPS += ("notifications", "review", "skills", "toolcalls", "worker")
# Leaf layers and what each may import of ours.
ALLOWED = {
    "lib": set(),
    "screening": set(),
    "llm": {"lib"},
    "realtime": {"lib"},
}
# The lifecycle core knows no action kind: chat, skills and the LLM register kinds in settings, and
# only the kind modules beside the lifecycle may use what their kind needs.
CORE = "approvals"
CORE_NEVER_IMPORTS = {"chat", "skills", "llm", "toolcalls"}
KIND_MODULES = {
    "approvals.kinds.api_call",
    "approvals.kinds.config_change",
    "approvals.kinds.model_switch",
    "approvals.kinds.setting_writes",
}
# The audit chain knows no workflow: what it shows of actions, their owner registers (audit.subjects).
AUDIT_ALLOWED = {"audit": {"lib", "realtime"}}


def _modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]], nodes: list[str]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _wrong_imports(allowed: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name, targets in _imports(_modules()).items()
        for target in targets
        if (app := name.split(".")[0]) in allowed
        and (other := target.split(".")[0]) != app
        and other not in allowed[app]
    )


def test_it_keeps_leaf_layers_free_of_app_imports():
    assert _wrong_imports(ALLOWED) == []


def test_it_keeps_the_audit_app_free_of_workflow_imports():
    assert _wrong_imports(AUDIT_ALLOWED) == []


def test_it_keeps_the_lifecycle_core_free_of_kinds():
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in _imports(_modules()).items()
        for target in targets
        if name.split(".")[0] == CORE and name not in KIND_MODULES and target.split(".")[0] in CORE_NEVER_IMPORTS
    )
    assert wrong == []


def test_it_has_no_module_cycle():
    modules = _modules()
    assert [sorted(cycle) for cycle in _cycles(_imports(modules), sorted(modules))] == []


def test_it_finds_a_cycle_hidden_in_a_function_import():
    graph = {"a.x": {"b.y"}, "b.y": {"a.x"}, "c.z": set()}
    assert _cycles(defaultdict(set, graph), ["a.x", "b.y", "c.z"]) == [{"a.x", "b.y"}]
