"""(1) Trigger only: the DAG's schedule mirrors the node's (00:30 every day, Asia/Shanghai, the workspace zone).

Each run releases the instance scheduled at the run's time: 2 API calls (ListTaskInstances + Trigger).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG  # airflow.sdk.DAG on Airflow 3, airflow.DAG on 2.11

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="example_dataworks_trigger",
    schedule="30 0 * * *",  # same cron as the HTTP trigger node, read in the same zone as DataWorks
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    # Retries mend only what passes: "no instances generated yet" (the day's instances appear the evening before)
    # and DataWorks faults that pass (throttling, 5xx, no answer). A run time that names no instance, a bad
    # connection or a refusal (permission, quota) fails at once, without using them.
    default_args={"retries": 3, "retry_delay": timedelta(minutes=10)},
    tags=["dataworks", "example"],
):
    DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001)
