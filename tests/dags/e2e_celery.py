"""End-to-end DAGs of the production-shaped stack (tests/system/celery/test_e2e_celery.py: PostgreSQL, CeleryExecutor,
2 workers, 2 triggerers).

- ``e2e_celery_backfill``: releases node 700001 and waits (deferred) for its workflow; backfilled over 30 days with
  several runs active at once;
- ``e2e_celery_crash``: releases node 700001 only; the test kills the Celery worker inside the trigger call, and
  after it but before the XCom push; the retries re-attach;
- ``e2e_celery_fanout``: releases workspace 2002's HTTP trigger node, then 200 deferred waits, one per node after
  it (all of one business date), spread over the two triggerers.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor

#: Workspace 2002 (tests/system/celery/test_e2e_celery.py's spec): HTTP trigger node 801000 and 200 nodes after it,
#: all at 00:55 Asia/Shanghai daily.
FANOUT_WORKSPACE, FANOUT_RELEASE, FANOUT_NODES = 2002, 801000, list(range(800000, 800200))
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=5)}

with DAG(
    dag_id="e2e_celery_backfill",
    schedule="30 0 * * *",
    start_date=pendulum.datetime(2026, 9, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args=RETRIES,
):
    DataWorksTriggerOperator(
        task_id="release_and_wait",
        dataworks_task_id=700001,
        wait_for_completion=True,
        wait_for="workflow",
        deferrable=True,
        poll_interval=15,  # not under 10 s: see tests/dags/e2e_role_connection.py
    )

with DAG(
    dag_id="e2e_celery_crash",
    schedule=None,  # triggered with a logical date, which is the TriggerTime
    start_date=pendulum.datetime(2026, 9, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args=RETRIES,
):
    DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001)

with DAG(
    dag_id="e2e_celery_fanout",
    schedule=None,
    start_date=pendulum.datetime(2026, 9, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_tasks=len(FANOUT_NODES),
):
    release = DataWorksTriggerOperator(task_id="release", dataworks_task_id=FANOUT_RELEASE, project_id=FANOUT_WORKSPACE)
    release >> DataWorksTaskInstanceSensor.partial(
        task_id="wait",
        project_id=FANOUT_WORKSPACE,
        wait_for="instance",
        deferrable=True,
        poke_interval=20,
        max_poll_interval=20,  # every cycle polls: the test counts calls per cycle
        timeout=timedelta(hours=1),
    ).expand(dataworks_task_id=FANOUT_NODES)
