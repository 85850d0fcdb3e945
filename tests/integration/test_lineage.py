"""OpenLineage: the events a dag.test() run emits through the OpenLineage provider's file transport.

Each DAG runs in its own process: the OpenLineage provider reads its configuration once per process (and its
plugin registers the listener only when enabled), and the rest of the suite runs without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus
from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import LOAD_A, RELEASE, RUN_DATE, WORKSPACE, T, clock_running, dag_source

pytest.importorskip("airflow.providers.openlineage", reason="needs the openlineage extra")
pytestmark = pytest.mark.usefixtures("airflow_db", "dataworks_conn")

NAMESPACE = "airflow-lineage-test"
DATAWORKS_NAMESPACE = f"dataworks://cn-hangzhou/{WORKSPACE}"
ROOT = Path(__file__).resolve().parents[2]

RUNNER = """
import json, sys
import pendulum
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS
from airflow.utils.session import create_session

path, dag_id, when, out = sys.argv[1:]
dag = DagBag(path).get_dag(dag_id)
if AIRFLOW_V_3_0_PLUS:
    dr = dag.test(logical_date=pendulum.parse(when))
else:  # as tests/conftest.py's run_dag: every run starts from no runs of the DAG
    from airflow.models import DagRun, TaskInstance

    with create_session() as session:
        session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id).delete()
        session.query(DagRun).filter(DagRun.dag_id == dag_id).delete()
    dr = dag.test(execution_date=pendulum.parse(when))
with create_session() as session:
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances(session=session)}
with open(out, "w") as f:  # not stdout: the OpenLineage listener's forks log there at the same time
    json.dump(states, f)
"""


def run_with_lineage(airflow_home: Path, tmp_path: Path, dag_id: str, body: str) -> tuple[dict, list[dict]]:
    """Run the DAG with dag.test() in a process of its own, OpenLineage on (file transport); its task states and
    the events it emitted."""
    path = airflow_home / "dags" / f"{dag_id}.py"
    path.write_text(textwrap.dedent(dag_source(dag_id, body)))
    # One file per event (debug_mode names it by time, job and type): with one appended file, events written at
    # once by the task's fork and the DAG run's listener could interleave.
    events_dir = tmp_path / "events"
    events_dir.mkdir()
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "60",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_dir / "ol"), "append": False, "debug_mode": True}
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(path), dag_id, RUN_DATE.isoformat(), str(tmp_path / "states.json")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    states = json.loads((tmp_path / "states.json").read_text())
    return states, [json.loads(event.read_text()) for event in sorted(events_dir.glob("ol-*.json"))]


def of_job(events: list[dict], namespace: str, name: str) -> list[dict]:
    return [e for e in events if (e["job"]["namespace"], e["job"]["name"]) == (namespace, name)]


def one(events: list[dict], event_type: str) -> dict:
    found = [e for e in events if e["eventType"] == event_type]
    assert len(found) == 1, [e["eventType"] for e in events]
    return found[0]


def assert_parent_is(dataworks_event: dict, task_event: dict, dag_id: str) -> None:
    parent = dataworks_event["run"]["facets"]["parent"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == (NAMESPACE, task_event["job"]["name"])
    assert parent["run"]["runId"] == task_event["run"]["runId"]
    root = parent["root"]
    assert (root["job"]["namespace"], root["job"]["name"]) == (NAMESPACE, dag_id)
    assert root["run"]["runId"] == task_event["run"]["facets"]["parent"]["run"]["runId"]  # the DAG run


def test_trigger_and_wait_emits_the_node_run_under_the_task(
    emulator: DataWorksEmulator, ticking: None, airflow_db: Path, tmp_path: Path
) -> None:
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "deferrable=False, poll_interval=1)"
    )
    states, events = run_with_lineage(airflow_db, tmp_path, "lineage_wait", body)
    assert states == {"release": "success"}
    inst = emulator.instance_of(RELEASE, T)

    task_complete = one(of_job(events, NAMESPACE, "lineage_wait.release"), "COMPLETE")
    facet = task_complete["run"]["facets"]["dataworks_instance"]
    assert facet["instanceId"] == inst.id
    assert (facet["nodeId"], facet["projectId"], facet["regionId"], facet["envType"]) == (
        RELEASE,
        WORKSPACE,
        "cn-hangzhou",
        "Prod",
    )
    assert facet["bizdate"] == "2026-11-24"  # the day before the scheduled day, as DataWorks counts it
    assert facet["scheduledTime"] == "2026-11-25 00:30:00 +08:00"
    assert facet["triggerTime"] == "2026-11-24T16:30:00+00:00"
    assert f"instanceId={inst.id}" in facet["consoleUrl"] and "/cn-hangzhou/" in facet["consoleUrl"]
    assert (facet["status"], facet["waitFor"]) == ("Success", "instance")
    assert (facet["jobNamespace"], facet["jobName"]) == (DATAWORKS_NAMESPACE, str(RELEASE))
    assert task_complete["run"]["facets"]["externalQuery"] == {
        **task_complete["run"]["facets"]["externalQuery"],
        "externalQueryId": str(inst.id),
        "source": DATAWORKS_NAMESPACE,
    }

    node = of_job(events, DATAWORKS_NAMESPACE, str(RELEASE))
    assert [e["eventType"] for e in node] == ["START", "COMPLETE"]
    assert len({e["run"]["runId"] for e in node}) == 1
    complete = one(node, "COMPLETE")
    assert complete["run"]["facets"]["dataworks_instance"]["instanceId"] == inst.id
    assert complete["run"]["facets"]["nominalTime"]["nominalStartTime"].startswith("2026-11-24T16:30:00")
    assert complete["job"]["facets"]["jobType"]["integration"] == "DATAWORKS"
    assert_parent_is(complete, task_complete, "lineage_wait")
    assert "AccessKey" not in json.dumps(events) and emulator.access_key_secret not in json.dumps(events)


def test_trigger_only_leaves_the_node_run_started(
    emulator: DataWorksEmulator, airflow_db: Path, tmp_path: Path
) -> None:
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)"
    states, events = run_with_lineage(airflow_db, tmp_path, "lineage_trigger", body)
    assert states == {"release": "success"}
    facet = one(of_job(events, NAMESPACE, "lineage_trigger.release"), "COMPLETE")["run"]["facets"]
    assert facet["dataworks_instance"]["instanceId"] == emulator.instance_of(RELEASE, T).id
    assert facet["dataworks_instance"].get("status") is None  # released; DataWorks runs it on
    node = of_job(events, DATAWORKS_NAMESPACE, str(RELEASE))
    assert [e["eventType"] for e in node] == ["START"]


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_failed_wait_carries_dataworks_status(
    emulator: DataWorksEmulator, ticking: None, airflow_db: Path, tmp_path: Path, deferrable: bool
) -> None:
    emulator.backend.tasks[LOAD_A].outcome = TaskInstanceStatus.FAILURE
    dag_id = f"lineage_fail_{deferrable}"
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        f"wait_for='downstream', deferrable={deferrable}, poll_interval=1)"
    )
    states, events = run_with_lineage(airflow_db, tmp_path, dag_id, body)
    assert states == {"release": "failed"}

    task_fail = one(of_job(events, NAMESPACE, f"{dag_id}.release"), "FAIL")
    facet = task_fail["run"]["facets"]["dataworks_instance"]
    assert facet["instanceId"] == emulator.instance_of(RELEASE, T).id
    assert (facet["status"], facet["waitFor"]) == ("Failure", "downstream")
    assert "load_a" in facet["errorMessage"] and "Failure" in facet["errorMessage"]
    if deferrable:  # the trigger's event names each instance's status
        assert any("load_a" in k and v == "Failure" for k, v in facet["statuses"].items())

    node = of_job(events, DATAWORKS_NAMESPACE, str(RELEASE))
    assert [e["eventType"] for e in node] == ["START", "FAIL"]
    assert node[1]["run"]["facets"]["dataworks_instance"]["status"] == "Failure"
    assert_parent_is(node[1], task_fail, dag_id)


def test_sensor_reports_the_instance_it_watched(
    emulator: DataWorksEmulator, ticking: None, airflow_db: Path, tmp_path: Path
) -> None:
    emulator.backend.trigger(RELEASE, T, "Prod")
    body = (
        "DataWorksTaskInstanceSensor(task_id='wait', dataworks_task_id=700001, wait_for='workflow', "
        "poke_interval=1, timeout=120)"
    )
    states, events = run_with_lineage(airflow_db, tmp_path, "lineage_sensor", body)
    assert states == {"wait": "success"}
    task_complete = one(of_job(events, NAMESPACE, "lineage_sensor.wait"), "COMPLETE")
    facet = task_complete["run"]["facets"]["dataworks_instance"]
    inst = emulator.instance_of(RELEASE, T)
    assert (facet["instanceId"], facet["nodeId"], facet["bizdate"]) == (inst.id, RELEASE, "2026-11-24")
    assert (facet["status"], facet["waitFor"]) == ("Success", "workflow")
    assert f"instanceId={inst.id}" in facet["consoleUrl"]
    node = of_job(events, DATAWORKS_NAMESPACE, str(RELEASE))
    assert [e["eventType"] for e in node] == ["START", "COMPLETE"]
    assert_parent_is(node[-1], task_complete, "lineage_sensor")


def test_a_deferred_sensor_failure_carries_dataworks_status(
    emulator: DataWorksEmulator, airflow_db: Path, tmp_path: Path
) -> None:
    emulator.backend.tasks[LOAD_A].outcome = TaskInstanceStatus.FAILURE
    emulator.backend.trigger(RELEASE, T, "Prod")
    body = (
        "DataWorksTaskInstanceSensor(task_id='wait', dataworks_task_id=700001, wait_for='downstream', "
        "poke_interval=1, timeout=120, deferrable=True)"
    )
    # The clock moves once the first poke has seen the downstream running: the failure is the trigger's to see.
    with clock_running(emulator, timedelta(minutes=1), 0.1, after_first="ListDownstreamTaskInstances"):
        states, events = run_with_lineage(airflow_db, tmp_path, "lineage_sensor_fail", body)
    assert states == {"wait": "failed"}
    task_fail = one(of_job(events, NAMESPACE, "lineage_sensor_fail.wait"), "FAIL")
    facet = task_fail["run"]["facets"]["dataworks_instance"]
    assert (facet["instanceId"], facet["status"]) == (emulator.instance_of(RELEASE, T).id, "Failure")
    assert facet["bizdate"] == "2026-11-24"
    assert any("load_a" in k and v == "Failure" for k, v in facet["statuses"].items())
    node = of_job(events, DATAWORKS_NAMESPACE, str(RELEASE))
    assert [e["eventType"] for e in node] == ["START", "FAIL"]
    assert_parent_is(node[-1], task_fail, "lineage_sensor_fail")


def test_the_operator_classes_carry_the_mixin_before_the_wait() -> None:
    from airflow_provider_dataworks.mixins.lineage import DataWorksLineageMixin
    from airflow_provider_dataworks.mixins.wait import DataWorksWaitMixin
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
    from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor

    for cls in (DataWorksTriggerOperator, DataWorksTaskInstanceSensor):
        mro = cls.__mro__
        assert mro.index(DataWorksLineageMixin) < mro.index(DataWorksWaitMixin), cls


def test_without_the_openlineage_provider_the_methods_answer_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dataworks.mixins.lineage import DataWorksLineageMixin

    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)  # import fails
    mixin: Any = DataWorksLineageMixin()
    assert mixin.get_openlineage_facets_on_complete(object()) is None
    assert mixin.get_openlineage_facets_on_failure(object()) is None


def test_importing_the_mixin_loads_no_openlineage() -> None:
    code = (
        "import sys, airflow_provider_dataworks.mixins.lineage\n"
        "print(sorted(m for m in sys.modules if m.startswith(('openlineage', 'airflow.providers.openlineage', "
        "'attr'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
