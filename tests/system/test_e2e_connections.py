"""End to end on a real Airflow 3: a deferred wait whose connection lives in the metadata database, and one whose
connection comes from a secrets backend, each released and waited for through the real triggerer.

``dataworks_db`` is added with ``airflow connections add`` (the task and the triggerer read it through the
api-server's Execution API); ``dataworks_file`` is in the stack's local-filesystem secrets backend (every
component reads the file). Both DAGs (tests/dags/e2e_conn_sources.py) run at once, on days no other scenario
releases; both connections use the emulator's AccessKey, which no other end-to-end DAG waits with.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from devtools.airflow_stack import AirflowStack
from tests.conftest import CONN_DATABASE_DAG, CONN_SECRETS_FILE_DAG

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the stack is Airflow 3's (api-server, dag-processor)")
#: The 00:30 Asia/Shanghai instance each DAG releases: 2026-11-17 and 2026-11-18 (fired at 16:30 UTC the day before).
LOGICAL_DATES = {
    CONN_DATABASE_DAG: datetime(2026, 11, 16, 16, 30, tzinfo=timezone.utc),
    CONN_SECRETS_FILE_DAG: datetime(2026, 11, 17, 16, 30, tzinfo=timezone.utc),
}


def plain_key_connection(stack: AirflowStack) -> dict[str, Any]:
    """A ``dataworks`` connection to the emulator with its AccessKey (``dataworks_default`` is STS)."""
    endpoint = stack.emulator["endpoint"]
    return {
        "conn_type": "dataworks",
        "login": stack.emulator["access_key_id"],
        "password": stack.emulator["access_key_secret"],
        "extra": {"endpoint": endpoint, "region_id": "cn-hangzhou", "project_id": 1001},
    }


@pytest.fixture(scope="module")
def finished_runs(airflow_stack: AirflowStack) -> dict[str, dict[str, Any]]:
    """Both connections made, both DAGs triggered at once, and their runs once finished."""
    stack = airflow_stack
    conn = plain_key_connection(stack)
    stack.cli("connections", "add", "dataworks_db", "--conn-json", json.dumps(conn))
    in_file = json.loads(stack.connections_file.read_text())
    stack.connections_file.write_text(
        json.dumps({**in_file, "dataworks_file": {**conn, "extra": json.dumps(conn["extra"])}})
    )
    with ThreadPoolExecutor() as pool:  # two CLI processes at once: each takes seconds to start
        triggered = [
            pool.submit(stack.cli, "dags", "trigger", dag_id, "--logical-date", logical_date.isoformat())
            for dag_id, logical_date in LOGICAL_DATES.items()
        ]
    for done in triggered:
        done.result()
    return {dag_id: stack.wait_runs_finished(dag_id, 1, timeout=300)[0] for dag_id in LOGICAL_DATES}


@pytest.mark.parametrize("dag_id", [CONN_DATABASE_DAG, CONN_SECRETS_FILE_DAG])
def test_deferred_wait_succeeds_through_the_real_triggerer(
    airflow_stack: AirflowStack, finished_runs: dict[str, dict[str, Any]], dag_id: str
) -> None:
    stack, run = airflow_stack, finished_runs[dag_id]
    assert run["state"] == "success", run
    trigger_time = str(int(LOGICAL_DATES[dag_id].timestamp() * 1000))
    sent = [
        c for c in stack.control.calls("TriggerSchedulerTaskInstance") if c["params"]["TriggerTime"] == trigger_time
    ]
    assert [c["access_key_id"] for c in sent] == [stack.emulator["access_key_id"]]  # once, with this connection
    (instance,) = [i for i in stack.control.instances(700001) if str(i["TriggerTime"]) == trigger_time]
    assert instance["Releases"] == 1 and instance["AcceptedTriggers"] == 1
    # The wait deferred, and the triggerer polled the workflow with the connection it looked up asynchronously.
    logs = [text for path, text in stack.task_logs().items() if run["run_id"] in str(path)]
    assert any("Pausing task as DEFERRED" in text for text in logs), logs
    polls = [
        c
        for c in stack.control.calls("GetWorkflowInstance")
        if str(c["params"]["Id"]) == str(instance["WorkflowInstanceId"])
    ]
    assert polls and {c["access_key_id"] for c in polls} == {stack.emulator["access_key_id"]}
    assert {c["http_status"] for c in polls} == {200}
    assert stack.task_states(dag_id) == ["success"]
