"""(2) Trigger, then wait (deferrable: no worker slot) until the node's workflow instance is done."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG  # airflow.sdk.DAG on Airflow 3, airflow.DAG on 2.11

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="example_dataworks_wait_workflow",
    schedule="30 0 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    tags=["dataworks", "example"],
):
    DataWorksTriggerOperator(
        task_id="release_and_wait",
        dataworks_task_id=700001,
        wait_for_completion=True,
        wait_for="workflow",
        deferrable=True,
        poll_interval=5,  # the demo's workflow takes seconds; use 60+ against a real DataWorks
        timeout=timedelta(hours=6),
    )
