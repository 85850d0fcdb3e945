"""End-to-end DAGs: release node 700001 and wait (deferred) for its workflow (tests/system/test_e2e_control.py).

- ``e2e_control_cancel``: marking the waiting task failed stops the workflow instance (``cancel_on_kill``, through
  the trigger's ``on_kill`` on Airflow 3.3);
- ``e2e_control_repair``: a try that finds the workflow in Failure (a cleared task) reruns only its failed
  instances (``rerun_failed``).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

CONTROL: dict[str, dict[str, Any]] = {
    "e2e_control_cancel": {"cancel_on_kill": True, "poll_interval": 15},
    "e2e_control_repair": {"rerun_failed": True, "poll_interval": 10, "max_poll_interval": 10},
}

for dag_id, control in CONTROL.items():
    with DAG(
        dag_id=dag_id,
        schedule=None,  # triggered with a logical date, which is the TriggerTime
        start_date=pendulum.datetime(2026, 10, 1, tz="Asia/Shanghai"),
        catchup=False,
    ):
        DataWorksTriggerOperator(
            task_id="release_and_wait",
            dataworks_task_id=700001,
            wait_for_completion=True,
            wait_for="workflow",
            deferrable=True,
            **control,  # poll_interval not under 10 s: see tests/dags/e2e_role_connection.py
        )
