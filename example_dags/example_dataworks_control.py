"""(5) Airflow as the control plane: cancel what the run released, repair what failed, a deadline on the wait.

- ``cancel_on_kill``: marking the task failed or success, clearing it while it waits, or a timeout stops the
  workflow instance this run released (deferred: on Airflow 3.3+; docs/how-to/control.md for older versions).
- ``rerun_failed``: a retry (or a cleared task) that finds the workflow in Failure reruns only its failed instances,
  never the trigger, and waits again. A failure seen during a try's wait fails that try: its retry repairs.
- ``timeout`` and ``execution_timeout`` hold in the triggerer too.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG  # airflow.sdk.DAG on Airflow 3, airflow.DAG on 2.11

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="example_dataworks_control",
    schedule="30 0 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    # Each retry repairs: reruns what failed in DataWorks (1 RerunTaskInstances), then waits again.
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["dataworks", "example"],
):
    DataWorksTriggerOperator(
        task_id="release_and_wait",
        dataworks_task_id=700001,
        wait_for_completion=True,
        wait_for="workflow",
        deferrable=True,
        poll_interval=10,  # the least docs/reference/known-limits.md advises; use 60+ against a real DataWorks
        cancel_on_kill=True,
        rerun_failed=True,
        execution_timeout=timedelta(hours=8),  # per try; in the triggerer too, and it stops what was released
    )
