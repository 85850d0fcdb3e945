"""(3) Trigger, then a separate deferrable sensor on the pushed instance id waits for the downstream."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG  # airflow.sdk.DAG on Airflow 3, airflow.DAG on 2.11

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor

with DAG(
    dag_id="example_dataworks_sensor",
    schedule="30 0 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    tags=["dataworks", "example"],
):
    release = DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001)
    wait = DataWorksTaskInstanceSensor(
        task_id="wait_downstream",
        instance_id="{{ ti.xcom_pull(task_ids='release') }}",
        wait_for="downstream",
        deferrable=True,
        poke_interval=5,
        timeout=3600,
    )
    release >> wait
