"""(7) Cross-tenant dependency: tenant B's HTTP trigger node waits for work done in tenant A's DataWorks.

Two Alibaba Cloud accounts, each with its own connection, region and scheduling zone:

- tenant A (``dataworks_tenant_a``: A's AccessKey, region cn-shanghai, zone Asia/Shanghai, A's ``project_id``):
  node 800001 runs at 09:00 in Shanghai; the sensor waits for that day's instance to succeed.
- tenant B (``dataworks_tenant_b``: B's AccessKey, region eu-central-1, zone Europe/Berlin, B's ``project_id``):
  HTTP trigger node 900001 runs at 06:00 in Berlin; the operator releases it once A's instance succeeded.

The DAG runs on B's node's schedule (06:00 Europe/Berlin, across daylight saving), so each run's date names B's
instance; the sensor names A's instance of the same calendar day, 09:00 read in A's zone (01:00 or 02:00 in
Berlin, before B's 06:00). API calls per run: A 1 ListTaskInstances (find the instance) + 1 per poke, B 2
(ListTaskInstances + TriggerSchedulerTaskInstance); each counts in its own account's and region's quota.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG  # airflow.sdk.DAG on Airflow 3, airflow.DAG on 2.11
from airflow.timetables.trigger import CronTriggerTimetable

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor

with DAG(
    dag_id="example_dataworks_cross_tenant",
    # B's node's cron in B's zone. A trigger timetable on Airflow 2.11 too, so logical_date is the fire time.
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Europe/Berlin"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Berlin"),
    catchup=False,
    tags=["dataworks", "example", "cross-tenant"],
):
    tenant_a_done = DataWorksTaskInstanceSensor(
        task_id="wait_tenant_a",
        dataworks_conn_id="dataworks_tenant_a",
        dataworks_task_id=800001,
        # A's instance of the run's calendar day in Berlin, at 09:00 in A's scheduling zone (its connection's).
        trigger_time="{{ logical_date.in_timezone('Europe/Berlin').strftime('%Y-%m-%d') }} 09:00:00",
        deferrable=True,
        poke_interval=300,  # each poke is one call of A's quota
        timeout=6 * 3600,
    )
    release_tenant_b = DataWorksTriggerOperator(
        task_id="release_tenant_b",
        dataworks_conn_id="dataworks_tenant_b",
        dataworks_task_id=900001,
        retries=3,  # what passes only: "no instances generated yet", throttling, 5xx (a refusal fails at once)
        retry_delay=timedelta(minutes=10),
    )
    tenant_a_done >> release_tenant_b
