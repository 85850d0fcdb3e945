"""End-to-end DAG: releases node 700001 through ``dataworks_ui``, the connection the browser test creates."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="e2e_ui_connection",
    schedule=None,  # triggered with a logical date, which is the TriggerTime
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
):
    DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001, dataworks_conn_id="dataworks_ui")
