"""The built wheel, installed as a user installs it, in a clean virtualenv with Airflow (``make test-wheel``).

Runs only when ``WHEEL_VENV`` names that virtualenv. Every command runs from a temporary directory with that
virtualenv's ``bin`` first on PATH, so neither the checkout nor the test session's Airflow settings are seen.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_dataworks
from airflow_provider_dataworks.emulator import EmulatorControl
from tests.walkthrough import (
    EMULATOR_PORT,
    check_walkthrough,
    clean_env,
    emulator_running,
    run_airflow_block,
    workdir,
)

WHEEL_VENV = os.environ.get("WHEEL_VENV")
pytestmark = pytest.mark.skipif(not WHEEL_VENV, reason="make test-wheel sets WHEEL_VENV to the built wheel's venv")
PACKAGE = "airflow-provider-dataworks"
#: pyproject.toml [project.urls]
DOCUMENTATION = "https://airflow-provider-dataworks.github.io/airflow-provider-dataworks/"


def run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def json_output(text: str) -> Any:
    """The JSON document of a CLI's ``-o json`` output (Airflow may log a line or two before it)."""
    return json.loads(text[min(i for i in (text.find("["), text.find("{")) if i >= 0) :])


def test_the_built_wheel_works_as_installed(tmp_path: Path) -> None:
    venv = Path(str(WHEEL_VENV))
    cwd = workdir(tmp_path)
    env = clean_env(venv / "bin", tmp_path / "airflow-home")
    installed = json.loads(run([str(venv / "bin" / "python"), "-c", (
        "import json, airflow_provider_dataworks as p, importlib.metadata as md; d = md.distribution('" + PACKAGE +
        "'); print(json.dumps({'file': p.__file__, 'version': p.__version__, 'dist_version': d.version, "
        "'direct_url': d.read_text('direct_url.json')}))")], env, cwd))  # fmt: skip
    package_dir = Path(installed["file"]).parent
    assert package_dir.is_relative_to(venv), f"imported from {package_dir}, not the wheel's virtualenv"
    assert "editable" not in (installed["direct_url"] or ""), "installed editable, not from the wheel"
    assert (package_dir / "py.typed").is_file()
    assert installed["version"] == installed["dist_version"] == airflow_provider_dataworks.__version__

    providers = json_output(run(["airflow", "providers", "list", "-o", "json"], env, cwd))
    assert {"package_name": PACKAGE, "version": installed["version"]}.items() <= next(
        p for p in providers if p["package_name"] == PACKAGE
    ).items()
    (info,) = json_output(run(["airflow", "providers", "get", PACKAGE, "--full", "-o", "json"], env, cwd))
    assert info["documentation-url"] == DOCUMENTATION

    with emulator_running(env, cwd) as printed:
        check_walkthrough(printed, run_airflow_block(env, cwd))  # airflow db migrate, then a dags test
        uri_export = next(line for line in printed if line.startswith("export AIRFLOW_CONN_DATAWORKS_DEFAULT='"))
        conn_env = {**env, "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                    "AIRFLOW_CONN_DATAWORKS_DEFAULT": uri_export.split("=", 1)[1].strip("'")}  # fmt: skip
        tested = run(["airflow", "connections", "test", "dataworks_default"], conn_env, cwd)
        assert "Connection success!" in tested
        last_call = EmulatorControl(f"http://127.0.0.1:{EMULATOR_PORT}").calls()[-1]
        assert (last_call["action"], last_call["http_status"]) == ("GetProject", 200)  # one call, project_id set
