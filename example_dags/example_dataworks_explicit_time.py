"""(4) A DAG whose schedule differs from the node's: name the instance with an explicit trigger_time.

This DAG runs at 02:00 UTC; the node runs at 00:30 Asia/Shanghai. The template renders the console's
'YYYY-MM-DD HH:MM:SS', read in the scheduling zone (the connection's timezone, else the region's).
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG  # airflow.sdk.DAG on Airflow 3, airflow.DAG on 2.11

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="example_dataworks_explicit_time",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["dataworks", "example"],
):
    DataWorksTriggerOperator(
        task_id="release",
        dataworks_task_id=700001,
        # 02:00 UTC is 10:00 in Shanghai: release that calendar day's 00:30 instance.
        trigger_time=(
            "{{ (data_interval_end or logical_date).in_timezone('Asia/Shanghai').strftime('%Y-%m-%d') }} 00:30:00"
        ),
        timezone="Asia/Shanghai",
    )
