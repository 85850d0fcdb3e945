"""End-to-end DAG: release node 700001 for each logical date, nothing more (tests/system/test_e2e_quota.py).

Its connection ``dataworks_quota`` (the stack's connections file) carries a small ``daily_quota`` and a
``daily_quota_reset`` two minutes ahead, so that a backfill meets the quota mid-way and goes on after the reset.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="e2e_quota",
    schedule="30 0 * * *",  # the node's own schedule (Asia/Shanghai): each logical date names one instance
    start_date=pendulum.datetime(2026, 10, 1, tz="Asia/Shanghai"),
    catchup=False,
):
    DataWorksTriggerOperator(
        task_id="release",
        dataworks_task_id=700001,
        dataworks_conn_id="dataworks_quota",
        retries=2,  # must stay unspent: a quota refusal defers, it does not fail the try
    )
