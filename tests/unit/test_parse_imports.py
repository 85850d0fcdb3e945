"""What parsing a DAG file loads: only what defining and checking the operators needs (not timed; see make bench).

The DAG processor parses every file in a fresh process; the hook, the SDK, the trigger and the wait logic
must load only when a task runs (or in the triggerer).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS

pytestmark = pytest.mark.every_airflow
ROOT = Path(__file__).resolve().parents[2]

#: The provider's modules a parse may load, and the ones a literal trigger_time or timezone adds (their checks).
AT_PARSE = {
    "airflow_provider_dataworks",
    "airflow_provider_dataworks.exceptions",
    "airflow_provider_dataworks.hooks",
    "airflow_provider_dataworks.hooks.connection_fields",  # Airflow's ProvidersManager reads provider_info
    "airflow_provider_dataworks.links",  # the layer folders' __init__: a docstring each
    "airflow_provider_dataworks.links.dataworks",
    "airflow_provider_dataworks.mixins",  # what the operator and sensor share: the classes, cheap to define
    "airflow_provider_dataworks.mixins.lineage",
    "airflow_provider_dataworks.mixins.wait",
    "airflow_provider_dataworks.operators",
    "airflow_provider_dataworks.operators.dataworks",
    "airflow_provider_dataworks.get_provider_info",
    "airflow_provider_dataworks.sensors",
    "airflow_provider_dataworks.sensors.dataworks",
    "airflow_provider_dataworks.domain",
    "airflow_provider_dataworks.domain.arguments",
    "airflow_provider_dataworks.version_compat",
}
#: What the asset-watcher example adds: its trigger class and the record types it names (Airflow 3 only).
WATCHER = {
    "airflow_provider_dataworks.triggers",
    "airflow_provider_dataworks.triggers.asset_watcher",
    "airflow_provider_dataworks.domain.api_records",
}
LITERAL_CHECKS = {"airflow_provider_dataworks.domain.timing", "airflow_provider_dataworks.domain.regions"}

PARSE = """
import json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps({
    "tasks": sum(len(d.tasks) for d in bag.dags.values()),
    "provider": sorted(m for m in sys.modules if m.startswith("airflow_provider_dataworks")),
    "sdk": sorted(m for m in sys.modules if m.startswith(("alibabacloud", "darabonba", "Tea"))),
}))
"""

PLAIN_DAG = """
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor

with DAG("plain", schedule="30 0 * * *", start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai")):
    release = DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001, project_id=1001,
                                       wait_for_completion=True, wait_for="workflow", deferrable=True)
    watch = DataWorksTaskInstanceSensor(task_id="watch", instance_id="{{ ti.xcom_pull('release') }}")
    release >> watch
"""
LITERAL_DAG = PLAIN_DAG.replace("project_id=1001,", "project_id=1001, timezone='Asia/Shanghai', "
                                "trigger_time='2026-11-25 00:30:00',")  # fmt: skip


def parse(path: Path, tmp_path: Path) -> dict:
    env = {"AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", PARSE, str(path)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("source", "allowed"), [(PLAIN_DAG, AT_PARSE), (LITERAL_DAG, AT_PARSE | LITERAL_CHECKS)])
def test_a_parse_loads_only_the_operator_classes_and_their_checks(tmp_path: Path, source: str, allowed: set) -> None:
    path = tmp_path / "dag.py"
    path.write_text(source)
    found = parse(path, tmp_path)
    assert found["tasks"] == 2
    assert found["sdk"] == []
    assert set(found["provider"]) <= allowed, f"loaded at parse: {sorted(set(found['provider']) - allowed)}"
    assert "airflow_provider_dataworks.operators.dataworks" in found["provider"]


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "example_dags").glob("example_*.py")))
def test_the_example_dags_parse_as_cheaply(tmp_path: Path, example: str) -> None:
    found = parse(ROOT / "example_dags" / example, tmp_path)
    watcher = example == "example_dataworks_asset_watcher.py"  # an asset's watcher is built when the file is parsed
    assert found["tasks"] >= (0 if watcher and not AIRFLOW_V_3_0_PLUS else 1) and found["sdk"] == []
    extra = set(found["provider"]) - AT_PARSE - LITERAL_CHECKS - (WATCHER if watcher else set())
    assert not extra, f"{example} loads at parse: {sorted(extra)}"
