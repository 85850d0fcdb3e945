"""The package's layers hold: lint rules that bite where meant, imports that only run down, no import circle.

The lint rules live in pyproject.toml and the folders' ruff.toml: each case hands ruff a probe as if it were a
file at that path (stdin, nothing written) and reads its verdict. The import graph is read from the source
(every import, at module level or in a function) and checked against :data:`MAY_IMPORT`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"

EMULATOR = "from airflow_provider_dataworks.emulator import DataWorksEmulator\n"
OPERATOR = "from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator\n"
SDK_TOP = "from alibabacloud_tea_openapi.models import Config\n"
SDK_LAZY = "def client():\n    from alibabacloud_tea_openapi.models import Config\n\n    return Config\n"
AIRFLOW = "from airflow.models import DAG\n"
AIRFLOW_LAZY = "def dag():\n    from airflow.models import DAG\n\n    return DAG\n"
HOOK = "from airflow_provider_dataworks.hooks.dataworks import DataWorksHook\n"
DOMAIN = "from airflow_provider_dataworks.domain.timing import bizdate_ms\n"


def ruff_codes(path: str, source: str) -> set[str]:
    done = subprocess.run(
        [str(RUFF), "check", "--select", "TID", "--output-format", "concise", "--stdin-filename", path, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return {word.rstrip(":") for line in done.stdout.splitlines() for word in line.split() if word.startswith("TID")}


@pytest.mark.parametrize(
    ("path", "source", "banned"),
    [
        ("airflow_provider_dataworks/hooks/probe.py", EMULATOR, True),
        ("airflow_provider_dataworks/domain/probe.py", AIRFLOW, True),
        ("airflow_provider_dataworks/domain/probe.py", AIRFLOW_LAZY, True),
        ("airflow_provider_dataworks/domain/probe.py", SDK_LAZY, True),
        ("airflow_provider_dataworks/domain/probe.py", HOOK, True),
        ("airflow_provider_dataworks/domain/probe.py", EMULATOR, True),
        ("airflow_provider_dataworks/domain/probe.py", DOMAIN, False),
        ("airflow_provider_dataworks/emulator/probe.py", HOOK, True),
        ("airflow_provider_dataworks/emulator/probe.py", AIRFLOW_LAZY, True),
        ("airflow_provider_dataworks/emulator/probe.py", DOMAIN, False),
        ("airflow_provider_dataworks/mixins/probe.py", OPERATOR, True),
        ("airflow_provider_dataworks/sensors/probe.py", OPERATOR, True),
        ("airflow_provider_dataworks/triggers/probe.py", SDK_TOP, True),
        ("airflow_provider_dataworks/hooks/probe.py", SDK_LAZY, False),
        ("airflow_provider_dataworks/emulator/probe.py", EMULATOR, False),
        ("airflow_provider_dataworks/emulator/probe.py", OPERATOR, True),
        ("airflow_provider_dataworks/emulator/probe.py", SDK_TOP, True),
        ("example_dags/probe.py", OPERATOR, False),
        ("example_dags/probe.py", EMULATOR, True),
        ("tests/probe.py", EMULATOR + SDK_TOP, False),
        ("devtools/probe.py", EMULATOR, False),
        ("benchmarks/probe.py", EMULATOR + OPERATOR, False),
    ],
)
def test_import_rules(path: str, source: str, banned: bool) -> None:
    codes = ruff_codes(path, source)
    assert bool(codes & {"TID251", "TID253"}) is banned, f"{path}: ruff said {codes or 'nothing'}"


# ----------------------------------------------------------------------------------------------- the import graph
PACKAGE = ROOT / "airflow_provider_dataworks"
#: What each layer may import of the package (its own folder, and the root ``__init__``'s ``__version__``,
#: always). The root's face modules are layers of their own.
MAY_IMPORT: dict[str, set[str]] = {
    "exceptions": set(),
    "version_compat": set(),
    "domain": {"exceptions"},
    "hooks": {"domain", "exceptions", "version_compat"},
    "links": {"exceptions", "version_compat"},
    "triggers": {"domain", "hooks", "exceptions", "version_compat"},
    "mixins": {"domain", "hooks", "triggers", "exceptions", "version_compat"},
    "operators": {"domain", "hooks", "triggers", "mixins", "links", "timetables", "exceptions", "version_compat"},
    "sensors": {"domain", "hooks", "triggers", "mixins", "links", "timetables", "exceptions", "version_compat"},
    "timetables": {"domain", "exceptions", "version_compat"},
    "cli": {"domain", "hooks", "timetables", "exceptions", "version_compat"},
    "get_provider_info": {"hooks", "cli", "links"},
    "testing": {"emulator", "version_compat"},
    "emulator": {"domain"},
    "__init__": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports (at module level or in a function)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in node.names:  # `from pkg import module` imports the module
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in files else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def wrong_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports that run against :data:`MAY_IMPORT`."""
    return sorted(
        f"{source} imports {target}"
        for source, targets in graph.items()
        for target in targets
        if layer(target) not in {layer(source), "__init__"} and layer(target) not in MAY_IMPORT[layer(source)]
    )


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_layer_is_known() -> None:
    assert {layer(m) for m in import_graph()} <= set(MAY_IMPORT)


def test_imports_only_run_down_the_layers() -> None:
    assert wrong_imports(import_graph()) == []


def test_no_import_circle() -> None:
    assert circles(import_graph()) == []


def test_a_wrong_import_fails_the_checks() -> None:
    """The checks bite: a domain module importing the hook, and a hook module importing back the trigger that
    imports it, are reported."""
    graph = import_graph()
    assert "airflow_provider_dataworks.hooks.dataworks" in graph["airflow_provider_dataworks.triggers.dataworks"]
    wrong = {**graph, "airflow_provider_dataworks.domain.timing": {"airflow_provider_dataworks.hooks.dataworks"}}
    assert set(wrong_imports(wrong)) - set(wrong_imports(graph)) == {
        "airflow_provider_dataworks.domain.timing imports airflow_provider_dataworks.hooks.dataworks"
    }
    hook = "airflow_provider_dataworks.hooks.dataworks"
    looped = {**graph, hook: graph[hook] | {"airflow_provider_dataworks.triggers.dataworks"}}
    assert any({hook, "airflow_provider_dataworks.triggers.dataworks"} <= set(c) for c in circles(looped))
