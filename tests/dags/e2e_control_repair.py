"""End-to-end DAG: releases node 700001 and waits (deferred) for its workflow; a try that finds the workflow in
Failure (a cleared task) reruns only its failed instances (``rerun_failed``)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="e2e_control_repair",
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
        poll_interval=10,  # not sooner: see e2e_role_connection.py
        max_poll_interval=10,
        rerun_failed=True,
    )
