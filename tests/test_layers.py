"""The import rules are lint rules (pyproject.toml and the folders' ruff.toml): check that they bite where meant.

Each case hands ruff a probe as if it were a file at that path (stdin, nothing written) and reads its verdict.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"

EMULATOR = "from airflow_provider_dataworks.emulator import DataWorksEmulator\n"
OPERATOR = "from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator\n"
SDK_TOP = "from alibabacloud_tea_openapi.models import Config\n"
SDK_LAZY = "def client():\n    from alibabacloud_tea_openapi.models import Config\n\n    return Config\n"


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
